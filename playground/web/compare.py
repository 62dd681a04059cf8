"""Compare runs: each session remembers the histories of its runs (trained or loaded), and any of their curves
can be drawn together, each run named by what differs in its settings. No Gradio, no TensorFlow.
"""
from __future__ import annotations

import dataclasses
import weakref

import numpy as np

MAX_RUNS = 8          # runs remembered per session; the oldest goes first
# What can be compared: name → (label, where it lives in a snapshot: "history" or "metric_history").
CURVES = {"g_loss": ("G loss", "history"), "d_loss": ("D loss", "history"), "d_real": ("D(real)", "history"),
          "d_fake": ("D(fake)", "history"), "js_divergence": ("JS divergence", "metric_history"),
          "mode_coverage": ("modes covered (share)", "metric_history")}
NAMED_FIELDS = ("dataset", "loss", "lr_g", "lr_d", "d_steps", "width", "latent_dim", "batch_size", "ema",
                "r1_gamma", "clusters", "conditional", "augment", "max_images", "seed")


class RunShelf:
    """One session's runs: their last snapshots without the pictures, keyed by the order they appeared."""

    def __init__(self):
        self._numbers = weakref.WeakKeyDictionary()   # trainer → its run number; forgets dropped trainers
        self._snapshots: dict[int, object] = {}
        self._next = 1

    def remember(self, trainer, snapshot) -> None:
        """Keep the newest snapshot of `trainer`'s run (called whenever the page shows one)."""
        if snapshot is None or snapshot.config is None or not len(snapshot.history_steps):
            return
        number = self._numbers.get(trainer)
        if number is None:
            number = self._numbers[trainer] = self._next
            self._next += 1
        self._snapshots[number] = dataclasses.replace(snapshot, samples=None, sample_labels=None, toy=None)
        for old in sorted(self._snapshots)[:-MAX_RUNS]:
            del self._snapshots[old]

    def curves(self, key: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(run name, steps, values) of curve `key` for every remembered run that has it."""
        if key not in CURVES:
            raise ValueError(f"curve must be one of {list(CURVES)}, got {key!r}")
        where = CURVES[key][1]
        names = run_names({number: s.config for number, s in self._snapshots.items()})
        result = []
        for number, snapshot in sorted(self._snapshots.items()):
            values = getattr(snapshot, where).get(key)
            steps = snapshot.history_steps if where == "history" else snapshot.metric_steps
            if values is not None and len(values):
                result.append((names[number], np.asarray(steps), np.asarray(values)))
        return result

    def __len__(self):
        return len(self._snapshots)


def run_names(configs: dict) -> dict:
    """number → 'run N: field=value, …' naming the settings in which the runs differ ('run N: dataset' if none)."""
    rows = {number: dataclasses.asdict(config) for number, config in configs.items()}
    differing = [name for name in NAMED_FIELDS if len({repr(row[name]) for row in rows.values()}) > 1]
    names = {}
    for number, row in rows.items():
        shown = differing or ["dataset"]
        names[number] = f"run {number}: " + ", ".join(f"{name}={_short(row[name])}" for name in shown)
    return names


def _short(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
