"""Runs built and traced ahead for the default recipes, so a click on Train draws a trained step at once.

Building a run takes ~0.5-1 s and its first compiled step 2-3 s more (tracing and graph optimization, measured in
docs/performance.md). A ReadyRuns pool holds one run per default recipe that has already taken its first step (the
same step a fresh run of that seed takes first) and drawn its first view; Train takes it when its settings are
exactly the recipe's, and the pool builds a replacement in the background.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from playground.engine.config import TrainConfig, default_config
from playground.engine.run import Run

# A replacement is built this long after a ready run is taken: not in the seconds when the visitor who took it
# (or the next one) is starting, which on 2 cores it would slow.
REFILL_DELAY_SECONDS = 20.0
# Then it waits until no run of this process trains: building and tracing one stalls a training run for seconds
# (docs/performance.md). On a server that is never quiet it is built after this long all the same.
REFILL_MAX_WAIT_SECONDS = 300.0


@dataclass
class ReadyRun:
    run: Run
    logs: dict          # its first step's losses (the history's first point)
    seconds: float      # that step's training time (the run's trained time starts there)


def prepare(config: TrainConfig) -> ReadyRun:
    """A run of `config` after its first step, with its first view drawn and its sampler compiled."""
    from playground.data import datasets

    run = Run.build(config)
    progress = run.train_for(steps=1)
    run.refresh_sampler()
    if run.dataset.kind == "toy":
        run.toy_view(datasets.real_sample(run.dataset, len(run.fixed_z), config.seed))
    else:
        run.fixed_samples()
    run.sampler.compile_render()
    return ReadyRun(run, progress.logs, progress.seconds)


class ReadyRuns:
    def __init__(self):
        self._ready: dict[TrainConfig, ReadyRun] = {}
        self._lock = threading.Lock()
        self.prepared_seconds: dict[str, float] = {}

    def fill(self, datasets) -> None:
        """Prepare one run per dataset's default recipe (at warm-up; a failure leaves that one out)."""
        for name in datasets:
            self.add(default_config(name))

    def add(self, config: TrainConfig) -> None:
        self._refill(config)

    def take(self, config: TrainConfig, points=None, quiet=None) -> ReadyRun | None:
        """The ready run for exactly `config` (then a new one is prepared in the background, once `quiet()` says
        nothing trains), or None."""
        if points is not None:
            return None
        with self._lock:
            ready = self._ready.pop(config, None)
        if ready is not None:
            threading.Thread(target=self._refill, args=(config, REFILL_DELAY_SECONDS, quiet), name="ready-run",
                             daemon=True).start()
        return ready

    def _refill(self, config: TrainConfig, delay: float = 0.0, quiet=None) -> None:
        time.sleep(delay)
        deadline = time.monotonic() + REFILL_MAX_WAIT_SECONDS
        while quiet is not None and not quiet() and time.monotonic() < deadline:
            time.sleep(1.0)
        started = time.perf_counter()
        try:
            ready = prepare(config)
        except Exception as exc:  # noqa: BLE001 — Train then builds the run itself, and reports any problem
            print(f"could not prepare a ready {config.dataset} run ({type(exc).__name__}: {exc})", flush=True)
            return
        with self._lock:
            self._ready[config] = ready
        self.prepared_seconds[config.dataset] = time.perf_counter() - started


READY_RUNS = ReadyRuns()     # one per process; empty until warm-up fills it (tests build their own runs)
