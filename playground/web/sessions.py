"""Per-browser-session state behind the web app, with no Gradio in it.

Each browser tab (a Gradio session hash) gets its own `Trainer`. A `SessionRegistry` hands them out,
caps how many train at once on the shared CPU (GAN_MAX_TRAININGS, default 2) and how long one run may
train (GAN_MAX_TRAIN_SECONDS, default 900), and stops a session's trainer when its page closes.

TensorFlow is imported only when a trainer is first needed, so the page is served fast. Saved runs (save,
zip, unzip, list) are in playground.web.saved_runs.
"""
from __future__ import annotations

import ctypes
import gc
import os
import pathlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from playground.web.flow import KeptRun, apply_live, train_plan

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_MAX_TRAININGS = 2
DEFAULT_MAX_TRAIN_SECONDS = 900.0
IDLE_SESSION_SECONDS = 3600.0     # sessions that never sent "unload" (killed browsers) are dropped after this
MAX_POINT_LINES = 5000
MAX_KEPT_RUNS = 3      # earlier runs with unsaved work a session keeps (each holds its small models)


class SessionError(ValueError):
    """A user action that does not fit right now; the message says what to do instead."""


class BusyError(SessionError):
    """Every training slot on this server is taken."""


def _env_number(name: str, default: float, kind=float, environ=None) -> float:
    environ = os.environ if environ is None else environ
    text = environ.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = kind(text)
    except ValueError:
        raise SessionError(f"environment variable {name}={text!r} must be a {kind.__name__}; "
                           "unset it or fix it") from None
    if value <= 0:
        raise SessionError(f"environment variable {name}={text!r} must be positive")
    return value


def checkpoints_root(environ=None) -> pathlib.Path:
    """Bundled checkpoints: GAN_CHECKPOINTS_DIR, else the repository's `checkpoints/` (whatever the cwd)."""
    environ = os.environ if environ is None else environ
    return pathlib.Path(environ.get("GAN_CHECKPOINTS_DIR") or REPO_ROOT / "checkpoints")


@dataclass
class Session:
    trainer: object | None = None          # playground.training.trainer.Trainer, imported lazily
    saved_step: int | None = None          # step of the last save or load: later steps are unsaved work
    saved_names: set = field(default_factory=set)   # user checkpoints this session wrote (it may overwrite them)
    last_seen: float = field(default_factory=time.monotonic)
    scratch: dict = field(default_factory=dict)     # the UI's per-session caches (rendered step, directions...)
    kept: list = field(default_factory=list)        # KeptRun: earlier runs with unsaved work, oldest first
    kept_ever: list = field(default_factory=list)   # numbers handed out so far (a kept run keeps its number)
    _tmp: str | None = None

    def temp_dir(self) -> pathlib.Path:
        """A private folder for this session's downloads (GIFs, zips); removed when the session closes."""
        if self._tmp is None or not os.path.isdir(self._tmp):
            self._tmp = tempfile.mkdtemp(prefix="gan-playground-")
        return pathlib.Path(self._tmp)

    def unsaved_steps(self) -> int:
        trainer = self.trainer
        if trainer is None or trainer.run is None:
            return 0
        return max(0, trainer.snapshot().step - (self.saved_step or 0))


class SessionRegistry:
    """Thread-safe map session id → Session, with the server-wide training cap."""

    def __init__(self, max_trainings: int = DEFAULT_MAX_TRAININGS,
                 max_train_seconds: float | None = DEFAULT_MAX_TRAIN_SECONDS,
                 idle_seconds: float = IDLE_SESSION_SECONDS):
        self.max_trainings = int(max_trainings)
        self.max_train_seconds = max_train_seconds
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_env(cls, environ=None) -> "SessionRegistry":
        return cls(max_trainings=int(_env_number("GAN_MAX_TRAININGS", DEFAULT_MAX_TRAININGS, int, environ)),
                   max_train_seconds=_env_number("GAN_MAX_TRAIN_SECONDS", DEFAULT_MAX_TRAIN_SECONDS, float, environ))

    # -- sessions --------------------------------------------------------------------------------
    def session(self, session_id: str) -> Session:
        if not session_id:
            raise SessionError("this request has no session; reload the page")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                self._drop_idle()
                session = self._sessions[session_id] = Session()
            session.last_seen = time.monotonic()
            return session

    def has_session(self, session_id: str) -> bool:
        """Whether this session is open (unlike session(), never creates one)."""
        with self._lock:
            return session_id in self._sessions

    def trainer(self, session_id: str):
        return self.session(session_id).trainer

    def close(self, session_id: str) -> None:
        """The page closed: stop its training (freeing a slot) and forget it."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        _dispose([session] if session is not None else [])

    def close_all(self) -> int:
        """Close every session (server shutdown, tests, scripts); returns how many there were."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        _dispose(sessions)
        return len(sessions)

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.trainer is not None and s.trainer.status == "running")

    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _drop_idle(self):
        now = time.monotonic()
        stale = [key for key, s in self._sessions.items() if now - s.last_seen > self.idle_seconds
                 and (s.trainer is None or s.trainer.status != "running")]
        _dispose([self._sessions.pop(key) for key in stale])

    # -- training --------------------------------------------------------------------------------
    def start(self, session_id: str, config, points: np.ndarray | None = None) -> str:
        """Train: the obvious thing for the run's state (see `_train_plan`); returns a note for the user.
        Raises SessionError / BusyError."""
        session = self.session(session_id)
        with self._lock:
            trainer = session.trainer
            plan = train_plan(trainer, config, points)
            if plan == "apply":                 # running, same run: only the live settings can change
                return apply_live(trainer, config) or "Already training with these settings."
            if plan == "resume":
                note = apply_live(trainer, config)
                self.resume(session_id)
                return note or "Resumed."
            self._check_capacity(replacing=trainer if plan == "new" else None)
            old, kept_note = None, ""
            if plan == "new":
                old, kept_note = self._keep_or_retire(session)
                session.trainer = trainer = self._new_trainer(config, points)
                session.saved_step = None
            else:
                apply_live(trainer, config)
            trainer.start()
        _retire(old)
        if plan == "continue":
            return f"Continuing this run from step {trainer.snapshot().step}."
        return " ".join(part for part in ("Training started.", kept_note) if part)

    def _keep_or_retire(self, session: Session) -> tuple:
        """Before a new run replaces the current one: unsaved work moves to the session's kept runs (the oldest
        beyond MAX_KEPT_RUNS is dropped, and the note says so); returns (a trainer to retire, a note)."""
        trainer, unsaved = session.trainer, session.unsaved_steps()
        if trainer is None or not unsaved:
            return trainer, ""
        if trainer.status in ("running", "paused"):
            trainer.stop()
        session.kept.append(KeptRun(trainer, session.saved_step, len(session.kept_ever) + 1))
        session.kept_ever.append(session.kept[-1].number)
        note = f"The previous run (step {trainer.snapshot().step:,}) is kept under 'Earlier runs' until you save it."
        if len(session.kept) > MAX_KEPT_RUNS:
            dropped = session.kept.pop(0)
            note += (f" Run {dropped.number} (step {dropped.trainer.snapshot().step:,}, unsaved) was dropped: "
                     f"a session keeps {MAX_KEPT_RUNS} earlier runs.")
            return dropped.trainer, note
        return None, note

    def bring_back(self, session_id: str, number: int) -> str:
        """Make kept run `number` the current run again (the current one is kept in its place if unsaved)."""
        session = self.session(session_id)
        with self._lock:
            chosen = next((kept for kept in session.kept if kept.number == number), None)
            if chosen is None:
                raise SessionError(f"there is no earlier run {number!r} in this session; pick one from the list")
            session.kept.remove(chosen)
            old, note = self._keep_or_retire(session)
            session.trainer, session.saved_step = chosen.trainer, chosen.saved_step
        _retire(old)
        return f"Run {number} is the current run again (step {chosen.trainer.snapshot().step:,}). {note}".strip()

    def kept_runs(self, session_id: str) -> list[tuple[str, int]]:
        """(label, number) for each run this session keeps, newest first."""
        session = self.session(session_id)
        return [(f"run {kept.number}: {kept.trainer.config.dataset}, {kept.trainer.config.loss}, "
                 f"step {kept.trainer.snapshot().step:,}", kept.number) for kept in reversed(session.kept)]

    def resume(self, session_id: str) -> None:
        session = self.session(session_id)
        with self._lock:
            trainer = self._require_trainer(session)
            cap = trainer.max_seconds
            if trainer.status == "paused" and cap is not None and trainer.snapshot().wall_time >= cap:
                raise SessionError(f"this run used up its training time limit ({cap:.0f} s). Save it to keep it, "
                                   "or press Reset to start another")
            if trainer.status == "paused":
                self._check_capacity()
            trainer.resume()

    def step(self, session_id: str, config, points, n: int, which: str):
        """Run n steps now (building the run from `config` on the first step); returns the snapshot."""
        session = self.session(session_id)
        with self._lock:
            old, trainer = None, session.trainer
            if trainer is None or trainer.status in ("stopped", "error") or (trainer.status == "idle" and
                                                                             trainer.run is None):
                old, _ = self._keep_or_retire(session)       # as with Train, unsaved work is kept
                session.trainer, session.saved_step = self._new_trainer(config, points), None
            trainer = session.trainer
        _retire(old)
        return trainer.step(n, which)

    def reset(self, session_id: str, config, points: np.ndarray | None = None) -> None:
        """Discard this session's run (on purpose: the user pressed Reset) and prepare a fresh one."""
        session = self.session(session_id)
        with self._lock:
            old, session.trainer, session.saved_step = session.trainer, self._new_trainer(config, points), None
        _retire(old)

    def adopt_run(self, session_id: str, run) -> None:
        """Make a loaded checkpoint (an engine.Run) this session's run, ready to explore or continue."""
        session = self.session(session_id)
        with self._lock:
            self.require_no_unsaved_work(session, "loading a checkpoint")
            old = session.trainer
            session.trainer = self._new_trainer(run.config, None, run=run)
            session.saved_step = run.step
        _retire(old)

    def require_no_unsaved_work(self, session: Session, action: str) -> None:
        trainer = session.trainer
        if trainer is not None and trainer.status in ("running", "paused"):
            raise SessionError(f"a run is {trainer.status}; press Stop first (and Save it to keep it) before {action}")
        unsaved = session.unsaved_steps()
        if unsaved:
            raise SessionError(f"your current run has {unsaved} unsaved steps. Save it first, or press Reset to "
                               f"discard it, before {action}")

    def _require_trainer(self, session: Session):
        if session.trainer is None:
            raise SessionError("nothing is training yet; press Train")
        return session.trainer

    def _check_capacity(self, replacing=None):
        """`replacing`: the session's own trainer, about to stop for a new run (its slot is about to be free)."""
        running = self.running_count() - (replacing is not None and replacing.status == "running")
        if running >= self.max_trainings:
            raise BusyError(f"busy — {running} trainings are running, try again in a minute")

    def _new_trainer(self, config, points, run=None):
        from playground.training.trainer import Trainer   # TensorFlow loads here, not when the page is served

        return Trainer(config, points, run=run, max_seconds=self.max_train_seconds)


def _glibc():
    """glibc's malloc_trim, where there is one (Linux); elsewhere memory is simply left to the allocator."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


def collect_garbage() -> None:
    """Free dropped runs now. Keras models and TensorFlow graphs sit in reference cycles that only a full
    collection frees, and Python runs those rarely in a process this big: a 30-minute soak grew by 1.4 GB
    before one collection (33 s long) gave it back. After warm-up's gc.freeze() one run's collection is
    ~0.1 s (measured on digits). Then glibc is asked to hand the freed pages back to the system: with many
    threads its heaps otherwise keep them, and RSS would only ever go up."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def freeze_startup_objects() -> None:
    """Once, after warm-up: keep everything loaded so far (TensorFlow, Keras, Gradio: ~550k objects) out of
    every later collection's scan (a full collection: ~0.5 s; with them frozen: ~0.1 s per dropped run)."""
    gc.collect()
    gc.freeze()


def _retire(*trainers) -> None:
    """Trainers no session holds any more (None: there was none): stop them, then free their models with one
    collection for all."""
    retired = [trainer for trainer in trainers if trainer is not None]
    for trainer in retired:
        trainer.stop()
    if retired:
        collect_garbage()


def _dispose(sessions: list) -> None:
    """Closed sessions: delete their private folders and retire their trainers."""
    for session in sessions:
        if session._tmp:
            shutil.rmtree(session._tmp, ignore_errors=True)
    _retire(*(trainer for session in sessions for trainer in [session.trainer, *(k.trainer for k in session.kept)]))


# -- user points ---------------------------------------------------------------------------------------
def parse_points(text: str) -> np.ndarray:
    """ "x, y" (or "x y") per line → float (N, 2); blank lines and # comments are skipped."""
    if not isinstance(text, str) or not text.strip():
        raise SessionError("the points box is empty; type one 'x, y' pair per line (at least 8 lines)")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        try:
            x, y = (float(p) for p in parts)
        except ValueError:
            raise SessionError(f"points line {number} ({line!r}) is not two numbers; write it as 'x, y'") from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise SessionError(f"points line {number} has a value that is not a finite number")
        rows.append((x, y))
        if len(rows) > MAX_POINT_LINES:
            raise SessionError(f"too many points (more than {MAX_POINT_LINES}); a few hundred are plenty")
    return np.array(rows, dtype=np.float64).reshape(-1, 2)
