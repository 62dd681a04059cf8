"""What Train does in each state of a session's run, and the runs a session keeps; no Gradio, no TensorFlow.

Train always does the obvious thing: with no run, after Stop, or when a setting that shapes the run changed, it
starts a new run (unsaved work moves to the session's kept runs); on a paused run it resumes; on a running one
it applies the changed live settings (learning rates, D steps).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KeptRun:
    """An earlier run with unsaved work, set aside on disk in the session's private folder (it costs no memory)."""
    folder: object              # pathlib.Path of its run directory
    saved_step: int | None
    number: int
    step: int
    label: str                  # e.g. "ring, lsgan"


# Settings that shape a run; the others (LIVE_SETTINGS) apply to a running one. Train with a change to any of these
# starts a new run.
RUN_SETTINGS = ("dataset", "loss", "width", "latent_dim", "batch_size", "seed", "ema", "r1_gamma", "augment",
                "conditional", "clusters", "max_images")
LIVE_SETTINGS = ("lr_g", "lr_d", "d_steps")


def train_plan(trainer, config, points) -> str:
    """What Train does: "new" run, "continue" a loaded or stepped one, "resume" a paused one, or "apply" live
    settings to the running one."""
    if trainer is None or trainer.status in ("stopped", "error"):
        return "new"
    current = trainer.config       # a built run's: "auto" conditional is resolved to on or off there
    same = all(getattr(current, name) == getattr(config, name) for name in RUN_SETTINGS
               if not (name == "conditional" and config.conditional is None))
    same = same and (current.dataset != "points" or np.array_equal(trainer.points, points))
    if not same or (trainer.status == "idle" and trainer.run is None):
        return "new"
    return {"running": "apply", "paused": "resume"}.get(trainer.status, "continue")


def apply_live(trainer, config) -> str:
    """Hand the live settings that differ to the trainer; returns a note naming them ("" when none did)."""
    current = trainer.config
    changes = {name: getattr(config, name) for name in LIVE_SETTINGS if getattr(current, name) != getattr(config, name)}
    if not changes:
        return ""
    trainer.set_hyperparams(**changes)
    return "Applied from the next step: " + ", ".join(f"{name}={value:g}" for name, value in changes.items()) + "."


CONTROLS = ("pause", "resume", "stop", "step", "reset")
_NOT_RUNNING, _NOT_PAUSED = "nothing is running", "nothing is paused"
# state → {control: why it is disabled}; a control not named is enabled.
_DISABLED = {
    "none": dict(pause=_NOT_RUNNING, resume=_NOT_PAUSED, stop=_NOT_RUNNING, reset="there is no run to discard"),
    "idle": dict(pause=_NOT_RUNNING, resume="press Train to continue this run", stop=_NOT_RUNNING),
    "running": dict(resume="already running", step="pause first"),
    "paused": dict(pause="already paused"),
    "stopped": dict(pause="this run has stopped", resume="a stopped run does not resume: Train starts a new one",
                    stop="already stopped", step="Train starts a new run"),
    "error": dict(pause="this run failed", resume="this run failed: Train starts a new one", stop="this run failed",
                  step="this run failed: Train starts a new one"),
}


def control_states(status: str | None, has_run: bool) -> dict:
    """control → None when it applies now, else the reason it does not (shown beside the buttons)."""
    state = "none" if status is None or (status == "idle" and not has_run) else status
    disabled = _DISABLED.get(state, {})
    return {name: disabled.get(name) for name in CONTROLS}


def controls_hint(states: dict) -> str:
    """One short line: the disabled controls grouped by reason, e.g. "Pause, Stop: nothing is running"."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in states.items():
        if reason:
            by_reason.setdefault(reason, []).append(name.capitalize())
    return " · ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())
