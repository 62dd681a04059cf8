"""The immutable record the trainer publishes a few times a second; the UI reads only this.

Arrays inside are read-only copies, so a reader can never see (or cause) a half-updated state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from playground.engine.config import TrainConfig

STATUSES = ("idle", "running", "paused", "stopped", "error")
HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")
# Live metrics charted over steps: the 2D divergence and mode coverage (a share, so both fit one 0-1 axis).
METRIC_HISTORY_KEYS = ("js_divergence", "mode_coverage")


def frozen_array(values, dtype=np.float32) -> np.ndarray:
    """A read-only copy. An array that is already frozen (read-only, owning its data, this dtype) is returned as
    is: nothing can change it, and callers may key caches on its identity (the Explore tab's 2D figure)."""
    if isinstance(values, np.ndarray) and not values.flags.writeable and values.base is None and values.dtype == dtype:
        return values
    array = np.array(values, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class ToyView:
    """What the GAN-Lab style 2D view draws, all in the dataset's own coordinates."""
    real: np.ndarray          # (N, 2) real points
    fake: np.ndarray          # (M, 2) generated points (from fixed noise)
    grid_x: np.ndarray        # (G,) heatmap x coordinates
    grid_y: np.ndarray        # (G,) heatmap y coordinates
    d_grid: np.ndarray        # (G, G) discriminator's "realness" in [0, 1]; row i is grid_y[i]
    arrows: np.ndarray        # (M, 2) direction the generator's gradient moves each fake point (data units)
    manifold: np.ndarray | None = None   # (C, K, K, 2) G's image of a K x K latent grid, one mesh per class


@dataclass(frozen=True)
class Snapshot:
    step: int
    status: str                       # one of STATUSES
    wall_time: float                  # seconds spent training (pauses excluded)
    steps_per_sec: float              # recent training speed
    history_steps: np.ndarray         # (K,) step of each history entry
    history: dict                     # name in HISTORY_KEYS -> (K,) float array
    samples: np.ndarray | None        # images (N, H, W, C) in [-1, 1] from fixed noise, or None for 2D data
    sample_labels: np.ndarray | None  # (N,) class of each sample for conditional models, else None
    toy: ToyView | None               # 2D view for toy datasets, else None
    metrics: dict = field(default_factory=dict)   # name -> float (FCD, confident share, modes covered...)
    warnings: tuple = ()              # human-readable, newest last
    config: TrainConfig | None = None
    error: str | None = None          # set when status == "error"
    devices: str = ""                 # where it trains, e.g. "training on the CPU" (engine.devices)
    metric_steps: np.ndarray = field(default_factory=lambda: frozen_array([], np.int64))   # (J,) step of each
    metric_history: dict = field(default_factory=dict)   # name in METRIC_HISTORY_KEYS -> (J,) float array
    timeline: tuple = ()              # ((step, frame), ...): playground.training.timeline's time-lapse
    marks: tuple = ()                 # ((step, label), ...): where the user paused, stepped or changed a rate


def empty_snapshot(config: TrainConfig | None = None) -> Snapshot:
    return Snapshot(step=0, status="idle", wall_time=0.0, steps_per_sec=0.0,
                    history_steps=frozen_array([], np.int64), history={k: frozen_array([]) for k in HISTORY_KEYS},
                    samples=None, sample_labels=None, toy=None, config=config)
