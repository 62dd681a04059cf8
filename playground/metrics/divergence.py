"""How far apart two 2D samples are: a histogram estimate of the Jensen–Shannon divergence (as GAN Lab plots).

Both samples are counted on one grid that covers the real points (plus a margin); every point outside it falls
in one extra "outside" cell, so a generator that flings its samples far away scores near log 2 instead of
stretching the grid until everything looks alike.
"""
from __future__ import annotations

import math

import numpy as np

from playground.metrics.quality import checked_points

JS_MAX = math.log(2.0)      # the divergence of two distributions with no overlap (natural log)
DEFAULT_BINS = 24           # cells per axis: ~600 cells for 1,000 samples keeps the estimate's noise small


class DivergenceError(ValueError):
    """Samples that cannot be compared; the message says what is wrong."""


def js_divergence(real: np.ndarray, fake: np.ndarray, bins: int = DEFAULT_BINS, margin: float = 0.1) -> float:
    """Jensen–Shannon divergence (nats, 0 to log 2) between the histograms of two (N, 2) samples."""
    real = checked_points(real, "real points", DivergenceError)
    fake = checked_points(fake, "fake points", DivergenceError)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise DivergenceError(f"bins must be a whole number >= 1, got {bins!r}")
    low, high = real.min(axis=0), real.max(axis=0)
    pad = margin * max(float((high - low).max()), 1e-6)
    edges = [np.linspace(low[i] - pad, high[i] + pad, bins + 1) for i in range(2)]
    p, q = _histogram(real, edges), _histogram(fake, edges)
    middle = (p + q) / 2
    return float(np.clip(0.5 * _kl(p, middle) + 0.5 * _kl(q, middle), 0.0, JS_MAX))


def _histogram(points: np.ndarray, edges) -> np.ndarray:
    """Shares of the points in each grid cell, then one last entry for the points outside the grid."""
    counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=edges)
    inside = counts.ravel()
    return np.append(inside, len(points) - inside.sum()) / len(points)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    used = p > 0          # 0 log 0 = 0; q > 0 wherever p > 0, since q is a mixture that contains p
    return float(np.sum(p[used] * np.log(p[used] / q[used])))
