"""Trainer: runs a GAN in a background thread and publishes an immutable Snapshot a few times a second.

States: idle → running ⇄ paused → stopped (models kept, so the run can still be explored and saved).
Any failure (bad data, a crash in a step) puts the trainer in "error" with the message; a NaN/Inf loss
restores the last good weights (Run.train_for does) and pauses with a warning. The UI only calls the public
methods below and reads `snapshot()`.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from playground.data import datasets
from playground.metrics import evaluate
from playground.engine.config import TrainConfig
from playground.engine.run import Progress, Run, with_live_changes
from playground.training.history import History
from playground.training.ready import READY_RUNS
from playground.training.record import MAX_MARKS, new_metric_history, restored, saved_files, saved_record
from playground.training.snapshot import Snapshot, empty_snapshot, frozen_array
from playground.training.timeline import Timeline, frame_shape


COLLAPSE_GRACE_STEPS = 300   # no collapse warnings before this step
# Live metrics run beside training, but on 2 cores their CPU comes out of training: at most every 10 s keeps that
# cost small (measured: docs/performance.md); a 2D toy's cheap ones come every second (evaluate.LiveMetrics).
METRICS_SECONDS = 10.0


_TRAINERS = weakref.WeakSet()     # this process's trainers, so a background job can wait for a quiet moment


def none_training() -> bool:
    """True when no trainer of this process is training (paused, stopped or idle ones do not count)."""
    return not any(trainer._status == "running" for trainer in list(_TRAINERS))


class TrainerError(RuntimeError):
    """An action that does not fit the trainer's state; the message says what to do instead."""


class Trainer:
    def __init__(self, config: TrainConfig, points: np.ndarray | None = None, *, run: Run | None = None,
                 publish_interval: float = 0.5, metrics_interval: float = METRICS_SECONDS,
                 max_seconds: float | None = None):
        self._next_config = config     # what the next run is built from; once built, the run owns its config
        self.points = points
        self.publish_interval = publish_interval
        self.metrics_interval = metrics_interval
        self.max_seconds = max_seconds
        self._run = run
        self._lock = threading.RLock()          # guards the run's models and optimizers
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._status = "idle"
        self._stop_requested = False
        self._warnings: list[str] = []
        self._metrics: dict = {}
        self._collapse: str | None = None       # current mode-collapse warning, cleared when it recovers
        self._history = History()
        self._metric_history = new_metric_history()
        self._timeline = Timeline()
        self._marks: list[tuple[int, str]] = []   # (step, what the user did there): pause, step, new rates
        self._wall_time = 0.0
        self._speed = 0.0
        self._live = evaluate.LiveMetrics(metrics_interval)
        self._real_view = None
        self._snapshot = empty_snapshot(self.config)
        _TRAINERS.add(self)
        if run is not None:
            self._restore(run)
            self._publish()

    # -- public controls -------------------------------------------------------------------------
    def start(self) -> None:
        """Build the run if needed and train in the background until paused or stopped."""
        with self._wake:
            if self._status in ("running", "paused"):
                raise TrainerError(f"training is already {self._status}; press Stop or Reset to start over")
            if self._status in ("stopped", "error"):
                raise TrainerError("this run has ended; press Reset to start a new one")
            self._status, self._stop_requested = "running", False
        self._thread = threading.Thread(target=self._loop, name="gan-trainer", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._switch("running", "paused", "cannot pause: training is {status}")
        with self._lock:       # returns once the step in flight has finished
            self._mark("paused")
            self._publish()

    def resume(self) -> None:
        self._switch("paused", "running", "cannot resume: training is {status}; press Train to start")

    def _switch(self, expected: str, new: str, refusal: str) -> None:
        """From `expected` to `new` status, waking the training thread; from any other, TrainerError(refusal)."""
        with self._wake:
            if self._status != expected:
                raise TrainerError(refusal.format(status=self._status))
            self._status = new
            self._wake.notify_all()

    def step(self, n: int = 1, which: str = "both") -> Snapshot:
        """Run exactly n steps now, in the caller's thread (only while paused or before the first start)."""
        if not isinstance(n, int) or not 1 <= n <= 1000:
            raise TrainerError(f"n must be a whole number from 1 to 1000, got {n!r}")
        if self._status not in ("idle", "paused"):
            raise TrainerError(f"stepping works when paused or before training; training is {self._status}")
        with self._lock:
            built_now = self._run is None
            run = self._ensure_run(ready_ok=False)      # Step takes exactly n steps from step 0
            self._mark(f"Step ×{n}" if which == "both" else f"Step {which.upper()} ×{n}")
            self._train_for(steps=n, which=which, one_at_a_time=True)
            self._publish()
        if built_now:
            run.sampler.compile_render()    # as _loop does: the first slider drag should not wait for XLA
        return self._snapshot

    def stop(self) -> None:
        with self._wake:
            if self._status in ("stopped", "idle", "error"):
                self._status = "stopped" if self._run is not None else self._status
                return
            self._stop_requested = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        with self._wake:
            if self._status != "error":
                self._status = "stopped"
        with self._lock:
            self._publish()

    def reset(self, config: TrainConfig | None = None, points: np.ndarray | None = None) -> None:
        """Stop and forget this run; the next start builds fresh models from `config` (or the current one)."""
        self.stop()
        with self._lock, self._wake:
            self._next_config = config or self.config
            self.points = points if points is not None else self.points
            self._run, self._status, self._warnings, self._metrics, self._collapse = None, "idle", [], {}, None
            self._history, self._wall_time, self._speed, self._real_view = History(), 0.0, 0.0, None
            self._metric_history = new_metric_history()
            self._timeline, self._marks = Timeline(), []
            self._live = evaluate.LiveMetrics(self.metrics_interval)   # an old run's evaluation in flight is dropped
            self._snapshot = empty_snapshot(self.config)

    def set_hyperparams(self, **changes) -> None:
        """Change lr_g, lr_d or d_steps; applies from the next step, even mid-run."""
        with self._lock:
            if self._run is not None:
                self._run.set_hyperparams(**changes)
                self._mark(", ".join(f"{name}={value:g}" for name, value in changes.items()))
            else:
                self._next_config = with_live_changes(self._next_config, **changes)

    @property
    def config(self) -> TrainConfig:
        """The run's config (live: set_hyperparams changes it), or before the run exists the one it will use."""
        run = self._run
        return run.config if run is not None else self._next_config

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def sampler(self):
        """A thread-safe generator copy (refreshed at each snapshot), or None before the first step."""
        return self._run.sampler if self._run is not None else None

    @property
    def run(self) -> Run | None:
        return self._run

    @property
    def lock(self):
        return self._lock

    @property
    def status(self) -> str:
        return self._status

    # -- the background loop ---------------------------------------------------------------------
    def _loop(self):
        try:
            with self._lock:
                run = self._ensure_run()
                self._publish(background_metrics=True)    # the first metrics come beside training, not before it
            run.sampler.compile_render()    # now, not on the first slider drag (the sampler has its own lock)
            while self._wait_while_paused():
                with self._lock:
                    if self._status != "running":      # paused while this thread waited for the lock
                        continue
                    self._train_for(seconds=self.publish_interval, should_stop=lambda: self._status != "running")
                    self._publish(background_metrics=True)
        except Exception as exc:     # shown to the user; the app keeps running
            self._fail(exc)

    def _wait_while_paused(self) -> bool:
        with self._wake:
            while self._status == "paused" and not self._stop_requested:
                self._wake.wait()
            return not self._stop_requested and self._status == "running"

    def _ensure_run(self, ready_ok: bool = True) -> Run:
        """Build the run, or take a ready one (built and traced ahead, ready.py) when it may start at step 1."""
        if self._run is None:
            ready = READY_RUNS.take(self._next_config, self.points, quiet=none_training) if ready_ok else None
            if ready is None:
                self._run = Run.build(self._next_config, self.points)
            else:
                self._run, self._wall_time = ready.run, self._wall_time + ready.seconds
                self._history.add(ready.run.step, ready.logs)
        return self._run

    def _train_for(self, **budget):
        """Train through Run.train_for (steps or seconds, see there), keeping the history, the clock and the
        session's time limit."""
        progress = self._run.train_for(on_chunk=self._history.add, **budget)
        self._wall_time += progress.seconds
        self._speed = progress.steps_per_sec
        if progress.diverged_at is not None:
            self._on_divergence(progress)
        if self.max_seconds is not None and self._wall_time >= self.max_seconds and self._status == "running":
            self._status = "paused"
            self._warn(f"Paused: this session's training time limit ({self.max_seconds:.0f} s) was reached. "
                       "Save the run to keep it, or Reset to start another.")

    def _on_divergence(self, progress: Progress):
        with self._wake:
            self._status = "paused"
        self._warn(f"Training diverged at step {progress.diverged_at} ({progress.non_finite()}). Paused and restored "
                   f"the weights of step {self._run.step}. Lower the learning rates, then press Resume.")

    def keep_record(self) -> None:
        """Hand the run what its saved copy keeps beside the weights (caller holds the lock): the record (loss and
        metric histories, trained time, marks: JSON in meta.json) and the record files (the timeline)."""
        self._run.record = saved_record(self._history, self._metric_history, self._wall_time, self._marks)
        self._run.record_files = saved_files(self._timeline)

    def _restore(self, run: Run) -> None:
        """A loaded run's record (from a file, maybe from outside): each part used when it checks out, else left
        out with a warning."""
        kind = run.dataset.kind
        drawn = frame_shape(kind, len(run.fixed_z), run.dataset.x.shape[1:])    # what this run's timeline holds
        kept = restored(run.record, run.record_files, kind, drawn)
        if kept.history is not None:
            self._history, self._wall_time, self._marks = kept.history, kept.wall_time, kept.marks
        if kept.metric_history is not None:
            self._metric_history = kept.metric_history
        if kept.timeline is not None:
            self._timeline = kept.timeline
        for problem in kept.problems:
            self._warn(problem)

    def _mark(self, label: str):
        """Remember what the user did at this step, for the loss chart (the latest MAX_MARKS)."""
        self._marks = (self._marks + [(self._run.step if self._run is not None else 0, label)])[-MAX_MARKS:]

    def _warn(self, message: str):
        if not self._warnings or self._warnings[-1] != message:
            self._warnings.append(message)
            del self._warnings[:-20]

    def _fail(self, exc: Exception):
        with self._wake:
            self._status = "error"
        message = str(exc) if isinstance(exc, (datasets.DataError, ValueError)) else f"{type(exc).__name__}: {exc}"
        self._snapshot = Snapshot(**{**self._snapshot.__dict__, "status": "error", "error": message})

    # -- publishing ------------------------------------------------------------------------------
    def _publish(self, background_metrics: bool = False):
        """Refresh the sampler and the snapshot. Caller holds the lock. While training runs freely, metrics are
        computed beside it and shown when ready; paused or stepping, they are computed before returning."""
        run = self._run
        if run is None:
            return
        run.refresh_sampler()
        samples = toy = None
        if run.dataset.kind == "toy":
            if self._real_view is None:
                self._real_view = frozen_array(datasets.real_sample(run.dataset, len(run.fixed_z), run.config.seed))
            toy = run.toy_view(self._real_view)
            self._timeline.add(run.step, toy.fake, "toy")
        else:
            samples = frozen_array(run.fixed_samples())
            self._timeline.add(run.step, samples, "image")
        self._update_metrics(run, wait=not background_metrics)
        steps, values = self._history.export()
        metric_steps, metric_values = self._metric_history.export()
        self._snapshot = Snapshot(
            step=run.step, status=self._status, wall_time=self._wall_time, steps_per_sec=self._speed,
            history_steps=steps, history=values, samples=samples,
            sample_labels=None if run.fixed_labels is None else frozen_array(run.fixed_labels, np.int32),
            toy=toy, metrics=dict(self._metrics), config=run.config, devices=run.placement.describe(),
            metric_steps=metric_steps, metric_history=metric_values,
            timeline=self._timeline.frames, marks=tuple(self._marks),
            warnings=tuple(self._warnings) + ((self._collapse,) if self._collapse else ()))

    def _update_metrics(self, run: Run, wait: bool):
        result = self._live.poll(run.sampler, run.dataset, run.step, wait)
        if result is None:
            return
        self._metrics, warning, evaluated_step = result
        if self._metrics:
            self._metrics["step"] = evaluated_step
            charted = charted_metrics(self._metrics)
            if charted and evaluated_step > self._metric_history.last_step:   # a loaded run's last point is saved
                self._metric_history.add(evaluated_step, charted)
        run.last_metrics = dict(self._metrics)
        # An untrained generator maps all noise near one point; that is not collapse yet.
        self._collapse = warning if evaluated_step >= COLLAPSE_GRACE_STEPS else None


def charted_metrics(metrics: dict) -> dict:
    """The live metrics that are charted over steps (METRIC_HISTORY_KEYS); mode coverage as a share."""
    charted = {"js_divergence": metrics["js_divergence"]} if "js_divergence" in metrics else {}
    if metrics.get("num_modes"):
        charted["mode_coverage"] = metrics["modes_covered"] / metrics["num_modes"]
    return charted
