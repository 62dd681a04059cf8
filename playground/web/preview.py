"""Pictures without plotly: a look at the real data before training (the data preview), and 2D points drawn as a
small image (the timeline's frames of a 2D run). PIL and NumPy only; datasets load lazily (TensorFlow)."""
from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw

from playground.web import plots

REAL_RGB, FAKE_RGB = (46, 160, 67), (130, 80, 200)     # plots.py's green real and purple generated
PREVIEW_POINTS = 1000
PREVIEW_IMAGES = 32


def points_picture(real: np.ndarray, fake: np.ndarray | None = None, size: int = 220,
                   bounds: float | None = None) -> Image.Image:
    """Real points (green) and generated ones (purple) on white; both in data coordinates, on one square scale."""
    everything = real if fake is None else np.concatenate([real, fake])
    finite = everything[np.all(np.isfinite(everything), axis=1)]
    bounds = bounds or float(np.max(np.abs(finite))) * 1.15 if len(finite) else 1.0
    picture = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(picture)
    for points, colour in ((real, REAL_RGB), (fake, FAKE_RGB)):
        if points is None:
            continue
        pixels = (np.clip(points, -bounds, bounds) / bounds + 1) * (size - 1) / 2
        for x, y in pixels[np.all(np.isfinite(pixels), axis=1)]:
            draw.ellipse((x - 1.5, size - 1 - y - 1.5, x + 1.5, size - 1 - y + 1.5), fill=colour)
    return picture


@functools.lru_cache(maxsize=8)
def data_preview(dataset: str) -> tuple[Image.Image | None, str]:
    """(a picture of the real data, a caption) for a named dataset; (None, why not) when it cannot be shown yet.
    The named datasets are fixed (seeded), so each picture is made once per process."""
    from playground.data import datasets
    from playground.engine.config import IMAGE_DATASETS, TOY_DATASETS, default_config

    if dataset in TOY_DATASETS and dataset != "points":
        data = datasets.load_dataset(default_config(dataset))
        real = datasets.real_sample(data, PREVIEW_POINTS, seed=0)
        return points_picture(real), f"Real data: {PREVIEW_POINTS} points of '{dataset}'. G must learn to draw these."
    if dataset == "digits":
        images, _ = datasets.load_digits()
        grid = plots.image_grid(images[:PREVIEW_IMAGES, ..., None] / 127.5 - 1.0, ncols=8, upscale=2)
        return grid, "Real data: bundled handwritten digits (28 × 28). G starts from noise and must learn to draw these."
    if dataset in IMAGE_DATASETS:
        return None, f"'{dataset}' downloads when you press Train (needs the internet); its real images show then."
    return None, "Your data shows here once it is given (points below, or an upload)."


def points_preview(points: np.ndarray) -> tuple[Image.Image, str]:
    return points_picture(points), f"Real data: your {len(points)} points."


# -- the timeline's frames -----------------------------------------------------------------------------------
def timeline_index(snapshot, position: float) -> int:
    """The frame at `position` (0-100 %, the scrubber) of a snapshot's timeline; ValueError when it is empty."""
    if not snapshot.timeline:
        raise ValueError("the timeline is empty: press Train; a snapshot is kept every few steps")
    if isinstance(position, bool) or not isinstance(position, (int, float)) or not 0 <= position <= 100:
        raise ValueError(f"the timeline position must be from 0 to 100, got {position!r}")
    return round(position / 100 * (len(snapshot.timeline) - 1))


def timeline_picture(snapshot, index: int) -> Image.Image:
    """Frame `index`: the sample grid of that step, or the 2D points over the real data (one scale for all)."""
    from playground.training.timeline import as_images

    step, frame = snapshot.timeline[index]
    if snapshot.toy is None:
        columns = None if snapshot.sample_labels is None else len(np.unique(snapshot.sample_labels))
        picture = plots.image_grid(as_images(frame), ncols=columns)
    else:
        real = snapshot.toy.real[:PREVIEW_POINTS]
        picture = points_picture(real, frame, bounds=float(np.max(np.abs(real))) * 1.3)
    return _with_step(picture.convert("RGB"), step)


def _with_step(picture: Image.Image, step: int) -> Image.Image:
    """The step written in the corner, so a time-lapse says where it is."""
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, 92, 13), fill="white")
    draw.text((3, 1), f"step {step:,}", fill="black")
    return picture


def timeline_gif(snapshot, path) -> str:
    frames = [timeline_picture(snapshot, i) for i in range(len(snapshot.timeline))]
    if not frames:
        raise ValueError("the timeline is empty: press Train first, then make the GIF")
    return str(plots.frames_to_gif(frames + [frames[-1]] * 5, path, duration_ms=150))   # rests on the last frame
