"""Errors about user data, and fitting pictures to the training size.

`DataError` is what every dataset loader raises for bad or unavailable data (its message says what to do);
`ENV_VARS` names the variable that changes each upload limit, for those messages.
`fit_image` / `fit_uint8_images` turn any picture or uint8 array into (size, size, channels) uint8 pixels,
centre-cropped, resized and made grey or RGB. Only NumPy and PIL here, no TensorFlow: `playground.data.uploads`
and `playground.data.npz` import this without loading `playground.data.datasets` (which imports TensorFlow and
calls the uploads).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps


class DataError(ValueError):
    """Bad or unavailable data; the message says what to do."""


# The variable that overrides each `playground.data.uploads.UploadLimits` field (defaults documented there). Kept here
# so `uploads` and `npz` can both name it in their error messages without importing each other.
ENV_VARS = {"max_upload_mb": "GAN_MAX_UPLOAD_MB", "max_expanded_mb": "GAN_MAX_EXPANDED_MB",
            "max_files": "GAN_MAX_FILES", "max_images": "GAN_MAX_IMAGES", "min_images": "GAN_MIN_IMAGES",
            "max_image_pixels": "GAN_MAX_IMAGE_PIXELS", "max_total_pixels": "GAN_MAX_TOTAL_PIXELS",
            "max_classes": "GAN_MAX_CLASSES"}


def fit_image(picture: Image.Image, size: int, channels: int) -> np.ndarray:
    """Any PIL image → uint8 (size, size, channels): centre-cropped square, resized, grey or RGB."""
    picture = _standard_mode(picture, channels)
    picture = ImageOps.fit(picture, (size, size), method=Image.Resampling.LANCZOS)
    array = np.asarray(picture, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def _standard_mode(picture, channels):
    if picture.mode.startswith("I"):  # 16-bit grey PNGs: keep the top 8 bits instead of clipping at 255
        wide = np.asarray(picture, dtype=np.int64)
        picture = Image.fromarray(np.clip(wide // 257, 0, 255).astype(np.uint8), "L")
    if picture.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return picture.convert("L" if channels == 1 else "RGB")


def fit_uint8_images(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C≤4) → (N, size, size, channels), through the same path as pictures."""
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[1:] == (size, size, channels):
        return images
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[images.shape[-1]]
    out = np.empty((len(images), size, size, channels), np.uint8)
    for i, image in enumerate(images):
        out[i] = fit_image(Image.fromarray(image[..., 0] if mode == "L" else image, mode), size, channels)
    return out
