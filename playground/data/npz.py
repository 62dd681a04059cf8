"""Reading a user's .npz array file safely: every array's header is checked before any array data is read.

The .npy header gives each array's shape and dtype, so oversized, object (pickle) or truncated arrays are
rejected before a byte of array data is read; values are then turned into uint8 pixels by explicit rules.
`read_npz` returns plain values, which `playground.data.uploads.load_upload` wraps in `LoadedImages` (this
module does not import `playground.data.uploads`, which imports it).
"""
from __future__ import annotations

import zipfile
import zlib

import numpy as np

from playground.data.images import ENV_VARS, DataError, fit_uint8_images
from playground.text import shown

IMAGE_KEYS = ("images", "x")
LABEL_KEYS = ("labels", "y")
NPZ_HELP = "save it with np.savez(path, images=uint8 (N, H, W[, C]) array, labels=int (N,) array)"


def read_npz(archive, source, size, channels, limits):
    """Check every array's header (shape, dtype) before reading any array data.

    Returns (uint8 (N, size, size, channels) images, int32 labels or None, class names, notes), the fields of
    `playground.data.uploads.LoadedImages`.
    """
    arrays = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise DataError(f"{shown(source)} is not a valid .npz file: {shown(info.filename)} is not a NumPy array; {NPZ_HELP}")
        arrays[info.filename[:-4]] = (info, *_npy_header(archive, info, source))
    image_key = _pick_image_key(list(arrays), source)
    _check_image_header(*arrays[image_key][1:], image_key, source, limits)
    pixels, notes = _npz_pixels(_read_npy(archive, arrays[image_key][0], source), image_key, source)
    label_key = next((key for key in LABEL_KEYS if key in arrays), None)
    labels, class_names = None, ()
    if label_key is not None:
        raw = _read_npy(archive, arrays[label_key][0], source)
        labels, class_names = _npz_labels(raw, len(pixels), label_key, source, limits)
    return fit_uint8_images(pixels, size, channels), labels, class_names, notes


def _npy_header(archive, info, source):
    try:
        with archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy format version {version}")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(stream)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(f"{shown(source)}: array {shown(info.filename)} is not a valid .npy array ({shown(str(err))}); {NPZ_HELP}") from err
    if dtype.hasobject:
        raise DataError(f"{shown(source)}: array {shown(info.filename)} holds Python objects, which are never loaded (they could "
                        f"run code); {NPZ_HELP}")
    if int(np.prod(shape)) * dtype.itemsize > info.file_size:
        raise DataError(f"{shown(source)}: array {shown(info.filename)} claims shape {shape} but holds fewer bytes; the file "
                        "is corrupt or crafted")
    return shape, dtype


def _pick_image_key(keys, source):
    for key in IMAGE_KEYS:
        if key in keys:
            return key
    if len(keys) == 1:
        return keys[0]
    raise DataError(f"{shown(source)} has arrays {sorted(keys)} but none is named 'images' or 'x'; {NPZ_HELP}")


def _check_image_header(shape, dtype, key, source, limits):
    where = f"{shown(source)} array {shown(key)}"
    if len(shape) == 4 and shape[-1] not in (1, 3, 4) and shape[1] in (1, 3, 4):
        raise DataError(f"{where} has shape {shape}, which looks channels-first; transpose it to (N, H, W, C)")
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3, 4)) or 0 in shape:
        raise DataError(f"{where} has shape {shape}; images must be (N, H, W) or (N, H, W, C) with C = 1, 3 or 4")
    if dtype.kind not in "uifb":
        raise DataError(f"{where} has dtype {dtype}; use uint8 (0..255) or float in [0, 1] or [-1, 1]")
    count, height, width = shape[:3]
    if count < limits.min_images:
        raise DataError(f"{where} has only {count} images; training needs at least {limits.min_images}")
    if count > limits.max_images:
        raise DataError(f"{where} has {count:,} images; the limit is {limits.max_images:,} "
                        f"(set {ENV_VARS['max_images']} to change it)")
    if height * width > limits.max_image_pixels:
        raise DataError(f"{where} has {width}x{height} images; the limit is {limits.max_image_pixels:,} pixels "
                        f"per image (set {ENV_VARS['max_image_pixels']} to change it)")


def _read_npy(archive, info, source):
    try:
        with archive.open(info) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(f"{shown(source)}: array {shown(info.filename)} could not be read ({shown(str(err))}); the file is corrupt") from err


def _npz_pixels(images, key, source):
    """Values → uint8 0..255, by explicit rules; anything ambiguous is said in a note, not guessed silently."""
    where = f"{shown(source)} array {shown(key)}"
    if images.dtype.kind == "b":
        return images.astype(np.uint8) * 255, (f"{where}: true/false values read as white/black",)
    if images.dtype.kind in "ui":
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise DataError(f"{where}: whole-number pixels must be 0..255, found {low}..{high}; rescale them")
        notes = (f"{where}: values are only 0 and 1, read as 0..255 pixels (nearly black); multiply by 255 "
                 "if they are black/white images",) if high <= 1 else ()
        return images.astype(np.uint8), notes
    if not np.isfinite(images).all():
        raise DataError(f"{where} contains NaN or infinite values; every pixel must be a finite number")
    low, high = float(images.min()), float(images.max())
    if low >= 0.0 and high <= 1.0:
        unit, notes = images, (f"{where}: float values in [0, 1] read as black..white",)
    elif low >= -1.0 and high <= 1.0:
        unit, notes = (images + 1.0) / 2.0, ()
    else:
        raise DataError(f"{where}: float pixels must lie in [0, 1] or [-1, 1], found {low:g}..{high:g}; rescale them")
    return np.round(unit.astype(np.float64) * 255.0).astype(np.uint8), notes


def _npz_labels(labels, count, key, source, limits):
    where = f"{shown(source)} array {shown(key)}"
    if labels.shape != (count,):
        raise DataError(f"{where} has shape {labels.shape}; labels must be one whole number per image, shape ({count},)")
    if labels.dtype.kind not in "uifb" or (labels.dtype.kind == "f" and not np.isfinite(labels).all()):
        raise DataError(f"{where} has dtype {labels.dtype} or non-finite values; labels must be whole numbers")
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise DataError(f"{where} holds fractions; labels must be whole numbers 0, 1, 2, …")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= limits.max_classes:
        raise DataError(f"{where} holds {low}..{high}; labels must be 0..{limits.max_classes - 1} "
                        f"(set {ENV_VARS['max_classes']} to allow more classes)")
    return labels.astype(np.int32), tuple(str(i) for i in range(high + 1))
