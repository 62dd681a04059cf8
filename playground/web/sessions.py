"""Per-browser-session state behind the web app, with no Gradio in it.

Each browser tab (a Gradio session hash) gets its own `Trainer`. A `SessionRegistry` hands them out,
caps how many train (or Step) at once on the shared CPU (GAN_MAX_TRAININGS, default 2) and per visitor
(GAN_MAX_TRAININGS_PER_VISITOR, default 1; a visitor is a client address, see client_address), how long one run
may train (GAN_MAX_TRAIN_SECONDS, default 900) and how many built runs the server holds in memory
(GAN_MAX_BUILT_RUNS, default 8: beyond it the least recently used idle run is saved to its session's private
folder and set aside, and comes back when its session next acts), and stops a session's trainer when its page
closes. docs/running-in-public.md lists every limit.

TensorFlow is imported only when a trainer is first needed, so the page is served fast. Saved runs (save,
zip, unzip, list) are in playground.web.saved_runs.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from playground.text import shown
from playground.web.flow import KeptRun, apply_live, train_plan
from playground.web.memory import RunBudget, _retire, _training, set_aside
from playground.web.visitors import new_browser_secret, owner_of, valid_browser_secret

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_MAX_TRAININGS = 2
DEFAULT_MAX_TRAIN_SECONDS = 900.0
DEFAULT_MAX_PER_VISITOR = 1
DEFAULT_MAX_BUILT_RUNS = 8        # a digits run is ~55 MB
IDLE_SESSION_SECONDS = 3600.0     # sessions that never sent "unload" (killed browsers) are dropped after this
_ENGINE_IMPORT = threading.Lock()
ENGINE_LOADED = threading.Event()


def import_engine() -> None:
    """Import TensorFlow and the engine once, under one lock: two threads importing TensorFlow at once (warm-up and
    an early visitor's event) can each meet the other's half-made modules and fail with an AttributeError."""
    with _ENGINE_IMPORT:
        if not ENGINE_LOADED.is_set():
            from playground.engine import devices   # first: GAN_DEVICES may split the CPU, only before TF starts

            devices.current()
            import playground.training.trainer  # noqa: F401  (TensorFlow, Keras, the engine)
            ENGINE_LOADED.set()


MAX_KEPT_RUNS = 3      # earlier runs with unsaved work a session keeps (set aside on disk)


class SessionError(ValueError):
    """A user action that does not fit right now; the message says what to do instead."""


class BusyError(SessionError):
    """Every training slot on this server is taken."""


def env_number(name: str, default: float, kind=float, environ=None) -> float:
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
    owner: str | None = None               # hash of the browser's secret: whose saved runs this session sees
    visitor: str | None = None             # the client address, for the per-visitor training cap
    stepping: bool = False                 # a Step is running in a handler thread (it counts as training)
    parked: pathlib.Path | None = None     # the run, saved aside to free memory; restored on the next action
    kept: list = field(default_factory=list)        # KeptRun: earlier runs with unsaved work, oldest first
    kept_ever: list = field(default_factory=list)   # numbers handed out so far (a kept run keeps its number)
    _tmp: str | None = None

    def owner_key(self) -> str:
        """Whose saved runs these are; a client that never sent a browser secret (an API script) gets a fresh
        one for this session alone."""
        if self.owner is None:
            self.owner = owner_of(new_browser_secret())
        return self.owner

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
    """Thread-safe map session id → Session, with the training caps (server-wide and per visitor) and the budget
    of built runs (a RunBudget)."""

    def __init__(self, max_trainings: int = DEFAULT_MAX_TRAININGS,
                 max_train_seconds: float | None = DEFAULT_MAX_TRAIN_SECONDS,
                 idle_seconds: float = IDLE_SESSION_SECONDS, max_per_visitor: int | None = None,
                 max_built_runs: int | None = None):
        self.max_trainings = int(max_trainings)
        self.max_train_seconds = max_train_seconds
        self.idle_seconds = idle_seconds
        self.max_per_visitor = max_per_visitor          # None: no per-visitor cap (the app's from_env sets one)
        self.budget = RunBudget(max_built_runs, self._new_trainer)   # None: no budget (the app's from_env sets one)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_env(cls, environ=None) -> "SessionRegistry":
        return cls(max_trainings=int(env_number("GAN_MAX_TRAININGS", DEFAULT_MAX_TRAININGS, int, environ)),
                   max_train_seconds=env_number("GAN_MAX_TRAIN_SECONDS", DEFAULT_MAX_TRAIN_SECONDS, float, environ),
                   max_per_visitor=int(env_number("GAN_MAX_TRAININGS_PER_VISITOR", DEFAULT_MAX_PER_VISITOR, int,
                                                   environ)),
                   max_built_runs=int(env_number("GAN_MAX_BUILT_RUNS", DEFAULT_MAX_BUILT_RUNS, int, environ)))

    @property
    def max_built_runs(self) -> int | None:
        return self.budget.max_built_runs

    def built_count(self) -> int:
        with self._lock:
            return self.budget.built_count(self._sessions.values())

    # -- sessions --------------------------------------------------------------------------------
    def session(self, session_id: str) -> Session:
        """The session (created on first use); a run set aside to free memory comes back here."""
        if not session_id:
            raise SessionError("this request has no session; reload the page")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                self._drop_idle()
                session = self._sessions[session_id] = Session()
            session.last_seen = time.monotonic()
            if session.parked is not None:
                self.budget.unpark(session, self._sessions.values())
            elif "park_error" in session.scratch:
                raise SessionError(f"your idle run had to be dropped to free memory and could not be saved aside "
                                   f"({session.scratch.pop('park_error')}); press Train to start a new one")
            return session

    def claim_browser(self, session_id: str, secret) -> str:
        """The page's first event sends the browser's secret (empty on a first visit): this session then sees
        that browser's saved runs. Returns the secret to keep (a new one when it was missing or malformed)."""
        if not valid_browser_secret(secret):
            secret = new_browser_secret()
        self.session(session_id).owner = owner_of(secret)
        return secret

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

    def running_count(self, visitor: str | None = None) -> int:
        """Sessions training or stepping now (only `visitor`'s when given)."""
        with self._lock:
            return sum(1 for s in self._sessions.values() if _training(s) and (visitor is None or s.visitor == visitor))

    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _drop_idle(self):
        now = time.monotonic()
        stale = [key for key, s in self._sessions.items() if now - s.last_seen > self.idle_seconds
                 and (s.trainer is None or s.trainer.status != "running")]
        _dispose([self._sessions.pop(key) for key in stale])

    # -- training --------------------------------------------------------------------------------
    def start(self, session_id: str, config, points: np.ndarray | None = None, visitor: str | None = None) -> str:
        """Train: the obvious thing for the run's state (flow.train_plan); returns a note for the user.
        Raises SessionError / BusyError."""
        session = self._visit(session_id, visitor)
        with self._lock:
            trainer = session.trainer
            plan = train_plan(trainer, config, points)
            if plan == "apply":                 # running, same run: only the live settings can change
                return apply_live(trainer, config) or "Already training with these settings."
            if plan == "resume":
                note = apply_live(trainer, config)
                self.resume(session_id)
                return note or "Resumed."
            self._check_capacity(session, replacing=trainer if plan == "new" else None)
            old, kept_note = None, ""
            if plan == "new":
                old, kept_note = self._keep_or_retire(session)
                self.budget.make_room(session, self._sessions.values())
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
        """Before a new run replaces the current one: unsaved work is set aside on disk among the session's kept
        runs (the oldest beyond MAX_KEPT_RUNS is dropped, and the note says so); returns (a trainer to retire,
        a note)."""
        trainer, unsaved = session.trainer, session.unsaved_steps()
        if trainer is None or not unsaved:
            return trainer, ""
        if trainer.status in ("running", "paused"):
            trainer.stop()
        number, step, config = len(session.kept_ever) + 1, trainer.snapshot().step, trainer.config
        try:
            folder = set_aside(trainer, session.temp_dir() / f"kept-run-{number}")
        except Exception as exc:  # noqa: BLE001 — e.g. a diverged run: say so rather than lose it silently
            return trainer, f"The previous run (step {step:,}) could not be kept ({type(exc).__name__}); it is gone."
        session.kept.append(KeptRun(folder, session.saved_step, number, step, f"{config.dataset}, {config.loss}"))
        session.kept_ever.append(number)
        note = f"The previous run (step {step:,}) is kept under 'Earlier runs' until you save it."
        if len(session.kept) > MAX_KEPT_RUNS:
            dropped = session.kept.pop(0)
            shutil.rmtree(dropped.folder, ignore_errors=True)
            note += (f" Run {dropped.number} (step {dropped.step:,}, unsaved) was dropped: a session keeps "
                     f"{MAX_KEPT_RUNS} earlier runs.")
        return trainer, note

    def bring_back(self, session_id: str, number: int) -> str:
        """Make kept run `number` the current run again (the current one is kept in its place if unsaved)."""
        from playground.engine.checkpoints import load_run

        session = self.session(session_id)
        with self._lock:
            chosen = next((kept for kept in session.kept if kept.number == number), None)
            if chosen is None:
                raise SessionError(f"there is no earlier run {shown(number)} in this session; pick one from the list")
            if _training(session):
                raise SessionError("a run is training; press Pause or Stop first, then bring an earlier run back")
        run = load_run(chosen.folder)          # outside the lock: loading takes a second, other sessions go on
        with self._lock:
            session.kept.remove(chosen)
            old, note = self._keep_or_retire(session)
            self.budget.make_room(session, self._sessions.values())
            session.trainer, session.saved_step = self._new_trainer(run.config, None, run=run), chosen.saved_step
        shutil.rmtree(chosen.folder, ignore_errors=True)
        _retire(old)
        return f"Run {number} is the current run again (step {chosen.step:,}). {note}".strip()

    def kept_runs(self, session_id: str) -> list[tuple[str, int]]:
        """(label, number) for each run this session keeps, newest first."""
        session = self.session(session_id)
        return [(f"run {kept.number}: {kept.label}, step {kept.step:,}", kept.number) for kept in reversed(session.kept)]

    def resume(self, session_id: str, visitor: str | None = None) -> None:
        session = self._visit(session_id, visitor)
        with self._lock:
            trainer = self._require_trainer(session)
            if trainer.status == "paused":
                _check_time_left(trainer)
                self._check_capacity(session)
            trainer.resume()

    def step(self, session_id: str, config, points, n: int, which: str, visitor: str | None = None):
        """Run n steps now (building the run from `config` on the first step); returns the snapshot. A Step
        counts as a training (the caps) and its steps count against the run's time limit."""
        session = self._visit(session_id, visitor)
        with self._lock:
            old, trainer = None, session.trainer
            if trainer is None or trainer.status in ("stopped", "error") or (trainer.status == "idle" and
                                                                             trainer.run is None):
                old, _ = self._keep_or_retire(session)       # as with Train, unsaved work is kept
                session.trainer, session.saved_step = self._new_trainer(config, points), None
            trainer = session.trainer
            if session.stepping or trainer.status == "running":
                raise SessionError("stepping works when paused or before training, one Step at a time; press Pause "
                                   "first, or wait for the Step to finish")
            _check_time_left(trainer)
            self._check_capacity(session)
            if trainer.run is None:
                self.budget.make_room(session, self._sessions.values())
            session.stepping = True
        _retire(old)
        try:
            return trainer.step(n, which)
        finally:
            session.stepping = False

    def reset(self, session_id: str, config, points: np.ndarray | None = None) -> None:
        """Discard this session's run (on purpose: the user pressed Reset) and prepare a fresh one."""
        session = self.session(session_id)
        with self._lock:
            old, session.trainer, session.saved_step = session.trainer, self._new_trainer(config, points), None
        _retire(old)

    def adopt_run(self, session_id: str, run) -> str:
        """Make a loaded checkpoint (an engine.Run) this session's run, ready to explore or continue. Unsaved work in
        the current run is first kept among the session's earlier runs (as Train does); the note says so."""
        session = self.session(session_id)
        with self._lock:
            if session.stepping:
                raise SessionError("a Step is running; wait for it to finish, then load the run again")
            old, note = self._keep_or_retire(session)
            self.budget.make_room(session, self._sessions.values())
            session.trainer = self._new_trainer(run.config, None, run=run)
            session.saved_step = run.step
        _retire(old)
        return note

    def _require_trainer(self, session: Session):
        if session.trainer is None:
            raise SessionError("nothing is training yet; press Train")
        return session.trainer

    def _visit(self, session_id: str, visitor: str | None) -> Session:
        session = self.session(session_id)
        if visitor is not None:
            session.visitor = visitor
        return session

    def _check_capacity(self, session: Session, replacing=None):
        """The server-wide cap, then the visitor's own (other tabs of one visitor count together). `replacing`:
        the session's own trainer, about to stop for a new run (its slot is about to be free)."""
        freed = replacing is not None and replacing.status == "running"
        running = self.running_count() - freed
        if running >= self.max_trainings:
            raise BusyError(f"busy — {running} trainings are running, try again in a minute")
        mine = self.running_count(session.visitor) - freed if session.visitor is not None else 0
        if self.max_per_visitor is not None and mine >= self.max_per_visitor:
            raise BusyError(f"you already have {mine} training(s) running in other tabs (the limit per visitor is "
                            f"{self.max_per_visitor}); pause or stop one there first")

    def _new_trainer(self, config, points, run=None):
        from playground.training.trainer import Trainer   # TensorFlow loads here, not when the page is served

        return Trainer(config, points, run=run, max_seconds=self.max_train_seconds)


def _check_time_left(trainer) -> None:
    cap = trainer.max_seconds
    if cap is not None and trainer.snapshot().wall_time >= cap:
        raise SessionError(f"this run used up its training time limit ({cap:.0f} s). Save it to keep it, "
                           "or press Reset to start another")


def _dispose(sessions: list) -> None:
    """Closed sessions: delete their private folders and retire their trainers."""
    for session in sessions:
        if session._tmp:
            shutil.rmtree(session._tmp, ignore_errors=True)
    _retire(*(session.trainer for session in sessions))
