"""Loss history with bounded memory: per-step values are averaged into buckets, and when the buffer is full
neighbouring buckets merge (bucket size doubles) into the mean of all their steps. An hour-long run costs the
same memory as a minute-long one, and the plot always has between max_points/2 and max_points points.
"""
from __future__ import annotations

import numpy as np

from playground.training.snapshot import HISTORY_KEYS, frozen_array


class History:
    def __init__(self, keys=HISTORY_KEYS, max_points: int = 1000):
        if max_points < 2 or max_points % 2:
            raise ValueError(f"max_points must be an even number >= 2, got {max_points}")
        self.keys = tuple(keys)
        self.max_points = max_points
        self.bucket_size = 1
        self._steps = np.zeros(max_points, np.int64)
        self._values = np.zeros((max_points, len(self.keys)), np.float64)
        self._counts = np.zeros(max_points, np.int64)     # steps per bucket: the one closed after a merge is short
        self._count = 0                                   # closed buckets
        self._open_sum = np.zeros(len(self.keys))
        self._open_n = 0
        self._open_step = 0

    def add(self, step: int, values: dict) -> None:
        """Record one training step; missing keys (e.g. g_loss on a D-only step) count as NaN."""
        row = np.array([values.get(k, np.nan) for k in self.keys], np.float64)
        self._open_sum += row
        self._open_n += 1
        self._open_step = step
        if self._open_n >= self.bucket_size:
            self._close_bucket()

    def _close_bucket(self):
        if self._count == self.max_points:
            self._merge_pairs()
        self._steps[self._count] = self._open_step
        self._values[self._count] = self._open_sum / self._open_n
        self._counts[self._count] = self._open_n
        self._count += 1
        self._open_sum[:] = 0.0
        self._open_n = 0

    def _merge_pairs(self):
        half = self.max_points // 2
        self._steps[:half] = self._steps[1::2]
        left, right = self._counts[0::2, None], self._counts[1::2, None]
        self._values[:half] = (self._values[0::2] * left + self._values[1::2] * right) / (left + right)
        self._counts[:half] = self._counts[0::2] + self._counts[1::2]
        self._count = half
        self.bucket_size *= 2

    @property
    def last_step(self) -> int:
        """The step of the latest value (-1 when empty)."""
        if self._open_n:
            return self._open_step
        return int(self._steps[self._count - 1]) if self._count else -1

    def export(self):
        """(steps, {key: values}) as read-only arrays, including the bucket still filling."""
        steps, values = self._steps[: self._count], self._values[: self._count]
        if self._open_n:
            steps = np.append(steps, self._open_step)
            values = np.vstack([values, self._open_sum / self._open_n])
        return frozen_array(steps, np.int64), {k: frozen_array(values[:, i]) for i, k in enumerate(self.keys)}
