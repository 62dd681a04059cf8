"""A run's time-lapse: what it drew (the sample grid, or the 2D generated points) at steps spread over the whole
run, in bounded memory. Frames start dense (every FIRST_EVERY steps); when CAPACITY is reached every other frame
is dropped and the interval doubles, so a long run keeps an even record of its start and its end."""
from __future__ import annotations

import numpy as np

FIRST_EVERY = 10
CAPACITY = 64            # frames: at most ~64 x 64 digits as uint8 (3 MB) or 64 x 256 points per run
MAX_IMAGES = 64          # per frame (the sample grid's first rows)
MAX_POINTS = 256
PER_FRAME = {"image": MAX_IMAGES, "toy": MAX_POINTS}
FRAME_DTYPES = {"image": np.dtype(np.uint8), "toy": np.dtype(np.float32)}


class Timeline:
    def __init__(self, first_every: int = FIRST_EVERY, capacity: int = CAPACITY):
        self.every, self.capacity = first_every, capacity
        self._frames: tuple = ()          # ((step, read-only array), ...): a new tuple each time one is added

    @property
    def frames(self) -> tuple:
        return self._frames

    def add(self, step: int, picture: np.ndarray, kind: str) -> None:
        """Keep `picture` (images in [-1, 1], or (M, 2) points) when `step` is due; `kind` is "image" or "toy"."""
        if step <= 0 or (self._frames and step < self._frames[-1][0] + self.every):
            return
        frames = self._frames + ((int(step), _compact(picture, kind)),)
        if len(frames) > self.capacity:
            frames, self.every = frames[::2], self.every * 2
        self._frames = frames

    def arrays(self) -> dict | None:
        """The frames as arrays for a file: steps (F,), frames (F, *frame shape), the current interval; None when
        there are none."""
        if not self._frames:
            return None
        return {"steps": np.array([step for step, _ in self._frames], np.int64),
                "frames": np.stack([frame for _, frame in self._frames]), "every": np.int64(self.every)}

    @classmethod
    def restored(cls, every: int, steps, frames) -> "Timeline":
        """A timeline from a file's arrays, already checked (training/record.py): training on appends to it."""
        timeline = cls(first_every=int(every))
        timeline._frames = tuple((int(step), _read_only(np.array(frame))) for step, frame in zip(steps, frames))
        return timeline


def frame_shape(kind: str, count: int, item_shape) -> tuple:
    """The shape of each frame of a run that draws `count` pictures (images or points) of `item_shape`."""
    return (min(count, PER_FRAME[kind]), *item_shape)


def _compact(picture: np.ndarray, kind: str) -> np.ndarray:
    """Images as uint8 (a quarter of float32), points as float32; read-only, so snapshots can share them."""
    if kind == "image":
        return _read_only(((np.clip(picture[:MAX_IMAGES], -1, 1) + 1) * 127.5 + 0.5).astype(np.uint8))
    return _read_only(np.array(picture[:MAX_POINTS], dtype=np.float32))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def as_images(frame: np.ndarray) -> np.ndarray:
    """A stored image frame back in [-1, 1] (what plots.image_grid draws)."""
    return frame.astype(np.float32) / 127.5 - 1.0
