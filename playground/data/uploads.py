"""User uploads (a .zip of images, a folder of images, or an .npz array file) → validated uint8 images.

This runs on a public Space, so every limit is checked *before* the expensive or dangerous step:
file sizes and member counts from the zip directory before anything is decompressed, image sizes from
the header (PIL's `Image.open` is lazy) before pixels are decoded, array shapes from the .npy header
before an array is read. Archives are never extracted to disk (members are read in memory), and
archives with `../` or absolute member paths are rejected outright.

Limits (defaults in `UploadLimits`; a Space owner can change them with environment variables):

    GAN_MAX_UPLOAD_MB        size of the uploaded .zip / .npz file                  (default 50)
    GAN_MAX_EXPANDED_MB      bytes after decompression (sum over members/files)     (default 200)
    GAN_MAX_FILES            entries in an archive or files in a folder             (default 20000)
    GAN_MAX_IMAGES           images in the dataset                                  (default 10000)
    GAN_MIN_IMAGES           fewest images worth training on                        (default 16)
    GAN_MAX_IMAGE_PIXELS     width x height of any one image                        (default 16777216 = 4096²)
    GAN_MAX_TOTAL_PIXELS     pixels decoded over all images (a CPU bound)           (default 500000000)
    GAN_MAX_CLASSES          label classes (a conditional model embeds each one)    (default 1000)

Layout rules: images in sub-folders named after classes give labels (ImageFolder style, a single
wrapping folder is ignored); images all at the top are unlabelled; a mix is an error. OS junk
(`__MACOSX/`, `._*`, `.DS_Store`, `Thumbs.db`, `desktop.ini`) is ignored; any other non-image file is
skipped *and reported* in `LoadedImages.notes`. Pictures are centre-cropped to a square, resized,
converted to grey or RGB; transparent pixels become white (as image viewers show them).
"""
from __future__ import annotations

import io
import os
import pathlib
import zipfile
import zlib
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from playground.data.images import ENV_VARS, DataError, fit_image
from playground.data.npz import read_npz
from playground.text import shown

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
PIL_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # only these decoders ever see user bytes
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
SAFE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # deflate output is bounded per read call
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, zlib.error)
MB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    max_upload_mb: float = 50.0
    max_expanded_mb: float = 200.0
    max_files: int = 20_000
    max_images: int = 10_000
    min_images: int = 16
    max_image_pixels: int = 4096 * 4096
    max_total_pixels: int = 500_000_000
    max_classes: int = 1000

    @classmethod
    def from_env(cls, environ=None) -> "UploadLimits":
        """Defaults overridden by the GAN_* variables in the module docstring; bad values raise DataError."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            var = ENV_VARS[field.name]
            if var in environ:
                values[field.name] = _positive_number(var, environ[var], type(field.default))
        return cls(**values)


def _positive_number(var, text, kind):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise DataError(f"environment variable {var} must be a positive {'whole ' if kind is int else ''}number, "
                        f"got {shown(text)}")
    return value


@dataclass(frozen=True)
class LoadedImages:
    images: np.ndarray            # uint8 (N, size, size, channels)
    labels: np.ndarray | None     # int32 (N,) or None
    class_names: tuple            # one per label, () when unlabelled
    notes: tuple = ()             # what the UI should tell the user (skipped files, how values were read)


@dataclass(frozen=True)
class _Member:
    name: str                      # relative path, "/"-separated
    size: int                      # bytes once read (uncompressed)
    read: Callable[[], bytes]


# -- entry point ---------------------------------------------------------------------------------

def load_upload(path, size: int, channels: int, limits: UploadLimits) -> LoadedImages:
    """Read a .zip, .npz or folder of images into uint8 (N, size, size, channels), or raise DataError."""
    path = pathlib.Path(path)
    if not path.exists():
        raise DataError(f"dataset path {shown(str(path))} does not exist; give a .zip, .npz or folder of images")
    if path.is_dir():
        return _decode_members(_folder_members(path, limits), f"folder {shown(path.name)}", size, channels, limits)
    suffix = path.suffix.lower()
    if suffix not in (".zip", ".npz"):
        raise DataError(f"dataset file {shown(path.name)} is not a .zip of images, an .npz array file or a folder "
                        f"of images; put your pictures ({', '.join(IMAGE_EXTENSIONS)}) in a .zip and upload that")
    _check_upload_size(path, limits)
    with _open_zip(path, suffix) as archive:
        _check_zip_directory(archive, path.name, limits)
        if suffix == ".npz":
            return LoadedImages(*read_npz(archive, path.name, size, channels, limits))
        return _decode_members(_zip_members(archive), f"zip {shown(path.name)}", size, channels, limits)


def _check_upload_size(path, limits):
    megabytes = path.stat().st_size / MB
    if megabytes > limits.max_upload_mb:
        raise DataError(f"{shown(path.name)} is {megabytes:.1f} MB; uploads are limited to {limits.max_upload_mb:g} MB "
                        f"(set {ENV_VARS['max_upload_mb']} to change it)")


# -- zip archives --------------------------------------------------------------------------------

def _open_zip(path, suffix):
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        kind = "a valid .npz file (a NumPy archive saved with np.savez)" if suffix == ".npz" else "a valid zip archive"
        raise DataError(f"{shown(path.name)} is not {kind}: it is corrupt or truncated ({shown(str(err))}); re-create it and "
                        "upload it again") from err


def _check_zip_directory(archive, source, limits):
    """Reject unsafe or oversized archives using only the zip's table of contents."""
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        raise DataError(f"{shown(source)} has too many files ({len(infos):,}); the limit is {limits.max_files:,} "
                        f"(set {ENV_VARS['max_files']} to change it)")
    for info in infos:
        if _is_unsafe_name(info.filename):
            raise DataError(f"{shown(source)} contains an unsafe path {shown(info.filename)} (absolute or with '..'); "
                            "zip the folder again with relative paths")
    expanded = sum(info.file_size for info in infos) / MB
    if expanded > limits.max_expanded_mb:
        raise DataError(f"{shown(source)} would expand to {expanded:,.0f} MB; the limit is {limits.max_expanded_mb:g} MB "
                        f"(a zip bomb, or simply too big; set {ENV_VARS['max_expanded_mb']} to change it)")
    for info in infos:
        if info.flag_bits & 0x1:
            raise DataError(f"{shown(source)} member {shown(info.filename)} is password-protected; upload an unencrypted zip")
        if info.compress_type not in SAFE_COMPRESSION:
            raise DataError(f"{shown(source)} member {shown(info.filename)} uses an unsupported compression method "
                            f"({info.compress_type}); re-create the zip with the standard 'deflate' method")


def _is_unsafe_name(name):
    parts = name.replace("\\", "/").split("/")
    drive = len(name) > 1 and name[1] == ":"  # C:\... is absolute on Windows
    return name.startswith(("/", "\\")) or drive or ".." in parts


def _zip_members(archive):
    return [_Member(info.filename, info.file_size, lambda info=info: read_zip_member(archive, info))
            for info in archive.infolist() if not info.is_dir()]


def read_zip_member(archive, info) -> bytes:
    """A member's bytes; never more than the size its directory entry declares (already checked)."""
    try:
        with archive.open(info) as stream:
            data = stream.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as err:
        raise DataError(f"member {shown(info.filename)} could not be read from the archive ({shown(str(err))}); "
                        "the archive is corrupt — re-create it") from err
    if len(data) != info.file_size:
        raise DataError(f"member {shown(info.filename)} is not the size the archive declares; the archive is corrupt "
                        "or crafted — re-create it")
    return data


# -- folders -------------------------------------------------------------------------------------

def _folder_members(root, limits):
    real_root = os.path.realpath(root)
    members, total = [], 0
    for folder, _, files in os.walk(root):  # followlinks=False: linked folders are not entered
        for filename in files:
            full = os.path.join(folder, filename)
            if not os.path.realpath(full).startswith(real_root + os.sep):
                raise DataError(f"folder {shown(root.name)}: {shown(filename)} links outside the folder; copy the file in "
                                "instead of linking it")
            members.append(_Member(os.path.relpath(full, root).replace(os.sep, "/"), os.path.getsize(full),
                                   lambda full=full: pathlib.Path(full).read_bytes()))
            total += members[-1].size
            if len(members) > limits.max_files:
                raise DataError(f"folder {shown(root.name)} has more than {limits.max_files:,} files "
                                f"(set {ENV_VARS['max_files']} to change the limit)")
    if total / MB > limits.max_expanded_mb:
        raise DataError(f"folder {shown(root.name)} holds {total / MB:,.0f} MB of files; the limit is "
                        f"{limits.max_expanded_mb:g} MB (set {ENV_VARS['max_expanded_mb']} to change it)")
    return members


# -- pictures → arrays ---------------------------------------------------------------------------

def _decode_members(members, source, size, channels, limits):
    images, others = _sort_members(members)
    if not images:
        raise DataError(f"{source} contains no images ({', '.join(IMAGE_EXTENSIONS)}); it is empty or holds "
                        "only other files")
    if len(images) < limits.min_images:
        raise DataError(f"{source} has only {len(images)} images; training needs at least {limits.min_images}")
    if len(images) > limits.max_images:
        raise DataError(f"{source} has {len(images):,} images; the limit is {limits.max_images:,} "
                        f"(set {ENV_VARS['max_images']} to change it)")
    labels, class_names = folder_labels([m.name for m in images], source, limits)
    pixels = np.empty((len(images), size, size, channels), np.uint8)
    total_pixels = 0
    for i, member in enumerate(images):
        picture = open_image(member.read(), member.name, size, channels, limits)
        total_pixels += picture.width * picture.height
        if total_pixels > limits.max_total_pixels:
            raise DataError(f"{source}: the images add up to more than {limits.max_total_pixels:,} pixels; "
                            f"upload fewer or smaller images (or set {ENV_VARS['max_total_pixels']})")
        pixels[i] = _decode(picture, member.name, size, channels)
    notes = ()
    if others:
        shown = ", ".join(repr(m.name) for m in others[:5]) + (" …" if len(others) > 5 else "")
        notes = (f"skipped {len(others)} file(s) in {source} that are not images: {shown}",)
    return LoadedImages(pixels, labels, class_names, notes)


def _sort_members(members):
    """(images, other files) in name order; OS junk is dropped without a word."""
    images, others = [], []
    for member in sorted(members, key=lambda m: m.name):
        parts = member.name.split("/")
        base = parts[-1].lower()
        if "__MACOSX" in parts or base in JUNK_NAMES or base.startswith("._"):
            continue
        (images if base.endswith(IMAGE_EXTENSIONS) else others).append(member)
    return images, others


def folder_labels(names, source, limits):
    """ImageFolder-style labels from member paths: (int32 labels or None, class names)."""
    parts = [name.split("/") for name in names]
    # Zipping a folder wraps everything in one top folder; that folder is not a class.
    while all(len(p) > 1 for p in parts) and len({p[0] for p in parts}) == 1:
        parts = [p[1:] for p in parts]
    nested = [len(p) > 1 for p in parts]
    if not any(nested):
        return None, ()
    if not all(nested):
        flat, deep = names[nested.index(False)], names[nested.index(True)]
        raise DataError(f"{source} has images both at the top ({shown(flat)}) and in sub-folders ({shown(deep)}); put every "
                        "image in a class folder (labelled) or none of them (unlabelled)")
    class_names = tuple(sorted({p[0] for p in parts}))
    if len(class_names) > limits.max_classes:
        raise DataError(f"{source} has {len(class_names):,} class folders; the limit is {limits.max_classes:,} "
                        f"(set {ENV_VARS['max_classes']} to change it)")
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[p[0]] for p in parts], np.int32), class_names


def open_image(data, name, size, channels, limits):
    """Parse only the header, check the size, and ask JPEG to decode at reduced scale; pixels stay unread."""
    try:
        picture = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
    except Image.DecompressionBombError as err:
        raise DataError(f"image {shown(name)} is too large ({shown(str(err))}); the limit is {limits.max_image_pixels:,} pixels") from err
    except DECODE_ERRORS as err:
        raise DataError(f"image {shown(name)} could not be decoded ({shown(str(err))}); remove it or save it again as PNG or JPEG") \
            from err
    width, height = picture.size
    if width * height > limits.max_image_pixels:
        raise DataError(f"image {shown(name)} is {width}x{height} pixels; the limit is {limits.max_image_pixels:,} pixels "
                        f"per image — shrink it (or set {ENV_VARS['max_image_pixels']})")
    picture.draft("RGB" if channels == 3 else "L", (size, size))  # JPEG only; a no-op for other formats
    return picture


def _decode(picture, name, size, channels):
    try:
        return fit_image(ImageOps.exif_transpose(picture), size, channels)
    except (*DECODE_ERRORS, Image.DecompressionBombError) as err:
        raise DataError(f"image {shown(name)} could not be decoded ({shown(str(err))}); remove it or save it again as PNG or JPEG") \
            from err
