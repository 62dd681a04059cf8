"""What the server holds in memory and how it frees it, with no Gradio in it: the budget of built runs
(SessionRegistry holds a RunBudget) and the garbage collection that hands a dropped run's memory back."""
from __future__ import annotations

import ctypes
import gc
import shutil
from typing import TYPE_CHECKING

from playground.text import shown

if TYPE_CHECKING:                       # sessions imports this module: the name is for annotations only
    from playground.web.sessions import Session


class RunBudget:
    """GAN_MAX_BUILT_RUNS: beyond it, the least recently used idle run is saved to its session's private folder and
    freed; it comes back (unpark) when its session next acts. The registry calls it under its own lock, with its
    sessions; `new_trainer` rebuilds a trainer around a run brought back."""

    def __init__(self, max_built_runs: int | None, new_trainer):
        self.max_built_runs, self._new_trainer = max_built_runs, new_trainer   # None: no budget

    def built_count(self, sessions) -> int:
        return sum(1 for s in sessions if _holds_run(s))

    def make_room(self, session: Session, sessions):
        """Before `session` builds or loads a run: set aside the least recently used idle runs of other sessions
        until it fits in the budget; refuse when every held run is training."""
        from playground.web.sessions import BusyError   # sessions imports this module

        if self.max_built_runs is None:
            return
        others = [s for s in sessions if s is not session and _holds_run(s)]
        idle = sorted((s for s in others if not _training(s)), key=lambda s: s.last_seen)
        while len(others) + 1 > self.max_built_runs:
            if not idle:
                raise BusyError(f"busy — the server holds as many runs as it can ({self.max_built_runs}); try "
                                "again in a minute")
            victim = idle.pop(0)
            self._park(victim)
            others.remove(victim)

    def _park(self, session: Session):
        """Save the session's run to its private folder and free it; unpark() brings it back."""
        trainer = session.trainer
        trainer.stop()
        try:
            session.parked = set_aside(trainer, session.temp_dir() / "set-aside-run")
        except Exception as exc:  # noqa: BLE001 — e.g. a diverged run; the owner is told when they come back
            session.scratch["park_error"] = f"{type(exc).__name__}: {shown(str(exc))}"
        session.trainer = None
        _retire(trainer)

    def unpark(self, session: Session, sessions):
        from playground.engine.checkpoints import load_run
        from playground.web.sessions import SessionError

        folder, session.parked = session.parked, None
        try:
            self.make_room(session, sessions)
            run = load_run(folder)
        except Exception as exc:  # noqa: BLE001 — the data it trained on may be gone (an upload's cache)
            raise SessionError(f"your idle run was set aside to free memory and could not be brought back "
                               f"({shown(str(exc))}); press Train to start a new one") from exc
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        session.trainer = self._new_trainer(run.config, None, run=run)


def set_aside(trainer, folder):
    """Save a stopped trainer's run with its record (histories, trained time, marks, timeline) to `folder`."""
    from playground.engine.checkpoints import save_run

    with trainer.lock:
        trainer.keep_record()
        save_run(trainer.run, folder)
    return folder


def _training(session: Session) -> bool:
    return session.stepping or (session.trainer is not None and session.trainer.status == "running")


def _holds_run(session: Session) -> bool:
    """Whether the session's run is built (or being built) in memory."""
    trainer = session.trainer
    return trainer is not None and (trainer.run is not None or _training(session))


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
    collection frees, and Python runs those rarely in a process this big (the soak's numbers: docs/performance.md).
    Then glibc is asked to hand the freed pages back to the system: with many threads its heaps otherwise keep
    them, and RSS would only ever go up."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def freeze_startup_objects() -> None:
    """Once, after warm-up: keep everything loaded so far (TensorFlow, Keras, Gradio) out of every later
    collection's scan, so freeing a dropped run stays short (docs/performance.md)."""
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
