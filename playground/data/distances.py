"""Distances between the rows of two arrays, for the metrics (memorization, diversity) and for the k-means
clusters of self-conditioned runs. A module of its own so that datasets.py need not import metrics/quality.py, which imports
datasets.py for the reference digits."""
from __future__ import annotations

import numpy as np


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (len(a), len(b)) with one matrix product: O(N*M*D), no (N, M, D) temporary;
    rounding's tiny negatives are clipped to 0."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.clip(squared, 0.0, None)
