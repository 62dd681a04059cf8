"""User uploads: zips, folders and .npz files — good ones load, every bad one gets a specific DataError.

All fixtures are built here in tmp_path; "bombs" use small custom limits so the test stays tiny, since
the checks compare against whatever the limits are.
"""
import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from playground.engine.config import default_config
from playground.data.datasets import DataError, load_dataset
from playground.data.uploads import ENV_VARS, UploadLimits, load_upload

LIMITS = UploadLimits()


def image_bytes(mode="L", size=(8, 8), color=128, fmt="PNG", **save_args):
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def palette_bytes(size=(10, 6), rgb=(0, 0, 255)):
    picture = Image.new("P", size, 0)
    picture.putpalette(list(rgb) + [0] * 765)
    return image_bytes_of(picture)


def image_bytes_of(picture, fmt="PNG"):
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def grey_members(count, prefix="", color=128):
    return {f"{prefix}img{i:03d}.png": image_bytes(color=color) for i in range(count)}


def png_header_only(width, height):
    """A PNG that *claims* width x height but carries no real pixels: cheap to make, fails if ever decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def expect_error(path, *fragments, limits=LIMITS, size=28, channels=1):
    with pytest.raises(DataError) as info:
        load_upload(path, size, channels, limits)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return str(info.value)


# -- good uploads --------------------------------------------------------------------------------

def mixed_members():
    """Grey, RGB, RGBA, palette, 1-bit, 16-bit and JPEG pictures of different sizes and shapes."""
    members = grey_members(10)
    members.update({
        "rgb.png": image_bytes("RGB", (40, 30), (255, 0, 0)),
        "rgba.png": image_bytes("RGBA", (12, 20), (0, 0, 0, 0)),           # fully transparent
        "palette.gif": palette_bytes(),
        "bits.bmp": image_bytes("1", (9, 9), 1, fmt="BMP"),
        "deep.png": image_bytes("I;16", (16, 16), 65535),
        "photo.jpg": image_bytes("RGB", (64, 48), (0, 255, 0), fmt="JPEG", quality=95),
        "grey_alpha.webp": image_bytes("LA", (20, 20), (0, 255), fmt="WEBP", lossless=True),
    })
    return members


def test_zip_of_mixed_sizes_and_modes_loads_as_rgb(tmp_path):
    loaded = load_upload(write_zip(tmp_path / "mixed.zip", mixed_members()), 16, 3, LIMITS)
    assert loaded.images.shape == (17, 16, 16, 3) and loaded.images.dtype == np.uint8
    assert loaded.labels is None and loaded.class_names == () and loaded.notes == ()
    by_name = dict(zip(sorted(mixed_members()), loaded.images))
    np.testing.assert_array_equal(by_name["rgb.png"][8, 8], [255, 0, 0])
    np.testing.assert_array_equal(by_name["rgba.png"][8, 8], [255, 255, 255])   # transparent becomes white
    np.testing.assert_array_equal(by_name["palette.gif"][3, 3], [0, 0, 255])
    np.testing.assert_array_equal(by_name["bits.bmp"][4, 4], [255, 255, 255])
    np.testing.assert_array_equal(by_name["deep.png"][4, 4], [255, 255, 255])   # 16-bit white stays white
    assert by_name["photo.jpg"][8, 8, 1] > 240 and by_name["photo.jpg"][8, 8, 0] < 15
    np.testing.assert_array_equal(by_name["grey_alpha.webp"][4, 4], [0, 0, 0])


def test_zip_loads_as_grey_through_load_dataset(tmp_path):
    path = write_zip(tmp_path / "mixed.zip", mixed_members())
    dataset = load_dataset(default_config(str(path)))
    assert dataset.name == "mixed.zip" and dataset.kind == "image"
    assert dataset.x.shape == (17, 28, 28, 1) and dataset.x.dtype == np.float32
    assert dataset.x.min() >= -1.0 and dataset.x.max() <= 1.0
    assert dataset.labels is None and dataset.num_classes == 0


def test_class_folders_give_labels_and_a_wrapping_folder_is_ignored(tmp_path):
    members = {**grey_members(9, "pets/cat/", color=0), **grey_members(8, "pets/dog/", color=255)}
    dataset = load_dataset(default_config(str(write_zip(tmp_path / "pets.zip", members))))
    assert dataset.class_names == ("cat", "dog") and dataset.num_classes == 2
    assert np.bincount(dataset.labels).tolist() == [9, 8]
    assert np.all(dataset.x[dataset.labels == 0] == -1.0) and np.all(dataset.x[dataset.labels == 1] == 1.0)


def test_one_class_folder_is_simply_unlabelled(tmp_path):
    loaded = load_upload(write_zip(tmp_path / "cats.zip", grey_members(16, "cats/")), 28, 1, LIMITS)
    assert loaded.labels is None and len(loaded.images) == 16


def test_folder_with_class_subfolders_loads(tmp_path):
    for label, count in (("a", 8), ("b", 9)):
        (tmp_path / "data" / label).mkdir(parents=True)
        for name, data in grey_members(count).items():
            (tmp_path / "data" / label / name).write_bytes(data)
    loaded = load_upload(tmp_path / "data", 12, 1, LIMITS)
    assert loaded.images.shape == (17, 12, 12, 1)
    assert loaded.class_names == ("a", "b") and loaded.labels.tolist() == [0] * 8 + [1] * 9


def test_os_junk_is_ignored_and_other_files_are_reported(tmp_path):
    members = {**grey_members(16), "__MACOSX/._img000.png": b"junk", ".DS_Store": b"junk", "sub/Thumbs.db": b"x",
               "readme.txt": b"hello", "labels.csv": b"a,b"}
    loaded = load_upload(write_zip(tmp_path / "junk.zip", members), 28, 1, LIMITS)
    assert len(loaded.images) == 16 and loaded.labels is None
    assert len(loaded.notes) == 1
    assert "2 file(s)" in loaded.notes[0] and "readme.txt" in loaded.notes[0] and "labels.csv" in loaded.notes[0]
    assert "DS_Store" not in loaded.notes[0] and "MACOSX" not in loaded.notes[0]


def test_notes_reach_the_dataset(tmp_path):
    path = write_zip(tmp_path / "n.zip", {**grey_members(16), "notes.md": b"#"})
    assert "notes.md" in load_dataset(default_config(str(path))).notes[0]


# -- bad files -----------------------------------------------------------------------------------

def test_non_image_file_given_as_dataset(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    expect_error(tmp_path / "notes.txt", "'notes.txt' is not a .zip of images")
    (tmp_path / "one.png").write_bytes(image_bytes())
    expect_error(tmp_path / "one.png", "put your pictures", ".png")


def test_missing_path(tmp_path):
    expect_error(tmp_path / "nope.zip", "does not exist")


def test_corrupt_and_truncated_zip(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"this is not a zip at all")
    expect_error(tmp_path / "bad.zip", "'bad.zip' is not a valid zip archive", "corrupt")
    whole = write_zip(tmp_path / "whole.zip", grey_members(16)).read_bytes()
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    expect_error(tmp_path / "cut.zip", "not a valid zip archive")


def test_zip_bomb_by_expanded_size(tmp_path):
    path = write_zip(tmp_path / "bomb.zip", {**grey_members(16), "zeros.png": b"\0" * (3 * 1024 * 1024)})
    assert path.stat().st_size < 100_000
    expect_error(path, "would expand to 3 MB", "limit is 2 MB", ENV_VARS["max_expanded_mb"],
                 limits=UploadLimits(max_expanded_mb=2))


def test_zip_bomb_by_file_count(tmp_path):
    path = write_zip(tmp_path / "many.zip", {f"e{i}.txt": b"" for i in range(60)})
    expect_error(path, "too many files (60)", "limit is 50", limits=UploadLimits(max_files=50))


def test_upload_file_size_limit(tmp_path):
    path = write_zip(tmp_path / "big.zip", {"noise.bin": os.urandom(300_000)}, zipfile.ZIP_STORED)
    expect_error(path, "uploads are limited to 0.1 MB", limits=UploadLimits(max_upload_mb=0.1))


@pytest.mark.parametrize("evil", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:\\evil.png",
                                  "..\\evil.png"])
def test_zip_with_escaping_paths_is_rejected(tmp_path, evil):
    path = write_zip(tmp_path / "evil.zip", {**grey_members(16), evil: image_bytes()})
    with zipfile.ZipFile(path) as archive:
        assert evil in archive.namelist()   # zipfile kept the name as written
    expect_error(path, "unsafe path", repr(evil))


def test_encrypted_and_exotic_compression_members_are_rejected(tmp_path):
    # zipfile cannot encrypt, so set the "encrypted" flag bit in the central directory entry by hand.
    raw = bytearray(write_zip(tmp_path / "plain.zip", {"locked.png": image_bytes()}).read_bytes())
    entry = raw.index(b"PK\x01\x02")
    raw[entry + 8] |= 0x1
    (tmp_path / "locked.zip").write_bytes(bytes(raw))
    expect_error(tmp_path / "locked.zip", "'locked.png' is password-protected")
    path = write_zip(tmp_path / "bz.zip", grey_members(16), zipfile.ZIP_BZIP2)
    expect_error(path, "unsupported compression method", "deflate")


def test_empty_archive_and_empty_folder(tmp_path):
    expect_error(write_zip(tmp_path / "empty.zip", {}), "zip 'empty.zip' contains no images")
    expect_error(write_zip(tmp_path / "text.zip", {"a.txt": b"a"}), "contains no images")
    (tmp_path / "nothing").mkdir()
    expect_error(tmp_path / "nothing", "folder 'nothing' contains no images")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_huge_image_is_rejected_from_its_header(tmp_path):
    path = write_zip(tmp_path / "huge.zip", {**grey_members(16), "huge.png": png_header_only(10_000, 10_000)})
    assert path.stat().st_size < 10_000
    # The fake PNG has no real pixels, so this message can only come from the header check.
    expect_error(path, "'huge.png' is 10000x10000 pixels", "16,777,216")


def test_total_pixel_budget(tmp_path):
    path = write_zip(tmp_path / "px.zip", {f"{i}.png": image_bytes(size=(50, 50)) for i in range(16)})
    expect_error(path, "more than 20,000 pixels", limits=UploadLimits(max_total_pixels=20_000))


@pytest.mark.parametrize("bad", [b"\x89PNG\r\n\x1a\n garbage", png_header_only(8, 8), b"not an image"])
def test_corrupt_image_member_is_named(tmp_path, bad):
    path = write_zip(tmp_path / "broken.zip", {**grey_members(16, "cats/"), "cats/broken.png": bad})
    expect_error(path, "image 'cats/broken.png' could not be decoded")


def test_too_few_and_too_many_images(tmp_path):
    expect_error(write_zip(tmp_path / "few.zip", grey_members(5)), "only 5 images", "at least 16")
    path = write_zip(tmp_path / "lots.zip", grey_members(25))
    expect_error(path, "25 images", "limit is 20", limits=UploadLimits(max_images=20))


def test_images_both_flat_and_in_folders_is_an_error(tmp_path):
    path = write_zip(tmp_path / "mix.zip", {**grey_members(8), **grey_members(8, "dogs/")})
    expect_error(path, "both at the top", "sub-folders")


def test_symlink_out_of_a_folder_is_rejected(tmp_path):
    (tmp_path / "secret.png").write_bytes(image_bytes())
    (tmp_path / "data").mkdir()
    for name, data in grey_members(16).items():
        (tmp_path / "data" / name).write_bytes(data)
    (tmp_path / "data" / "link.png").symlink_to(tmp_path / "secret.png")
    expect_error(tmp_path / "data", "'link.png' links outside the folder")


# -- .npz ----------------------------------------------------------------------------------------

def save_npz(path, **arrays):
    np.savez_compressed(path, **arrays)
    return path


def test_npz_uint8_with_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    path = save_npz(tmp_path / "set.npz", images=images, labels=np.arange(20) % 4)
    dataset = load_dataset(default_config(str(path)))
    assert dataset.x.shape == (20, 28, 28, 1) and dataset.num_classes == 4
    np.testing.assert_allclose(dataset.x[..., 0], images / 127.5 - 1.0, atol=1e-6)
    assert dataset.labels.tolist() == (np.arange(20) % 4).tolist()


def test_npz_keys_x_y_and_single_unnamed_array(tmp_path):
    images = np.zeros((16, 10, 10, 3), np.uint8)
    loaded = load_upload(save_npz(tmp_path / "xy.npz", x=images, y=np.ones(16)), 8, 1, LIMITS)
    assert loaded.images.shape == (16, 8, 8, 1) and loaded.class_names == ("0", "1")
    np.savez(tmp_path / "single.npz", np.full((16, 28, 28, 4), 255, np.uint8))
    loaded = load_upload(tmp_path / "single.npz", 28, 3, LIMITS)
    assert loaded.images.shape == (16, 28, 28, 3) and loaded.labels is None and loaded.images.min() == 255


def test_npz_float_ranges_are_read_by_explicit_rules(tmp_path):
    unit = load_upload(save_npz(tmp_path / "u.npz", images=np.full((16, 8, 8), 1.0)), 8, 1, LIMITS)
    assert unit.images.min() == 255 and "[0, 1]" in unit.notes[0]
    tanh = load_upload(save_npz(tmp_path / "t.npz", images=np.full((16, 8, 8), -1.0, np.float32)), 8, 1, LIMITS)
    assert tanh.images.max() == 0 and tanh.notes == ()
    binary = load_upload(save_npz(tmp_path / "b.npz", images=np.ones((16, 8, 8), np.int64)), 8, 1, LIMITS)
    assert "only 0 and 1" in binary.notes[0]


@pytest.mark.parametrize("arrays, fragments", [
    (dict(images=np.zeros((20, 5))), ["shape (20, 5)", "(N, H, W)"]),
    (dict(images=np.zeros((20, 3, 28, 28), np.uint8)), ["channels-first"]),
    (dict(images=np.zeros((20, 8, 8), np.complex64)), ["dtype complex64"]),
    (dict(images=np.full((20, 8, 8), "a")), ["dtype <U1"]),
    (dict(images=np.where(np.eye(8) > 0, np.nan, 0.0)[None].repeat(20, 0)), ["NaN"]),
    (dict(images=np.full((20, 8, 8), 3.0)), ["[0, 1] or [-1, 1]", "found 3..3"]),
    (dict(images=np.full((20, 8, 8), 1000, np.int32)), ["0..255", "0..1000"]),
    (dict(images=np.zeros((5, 8, 8), np.uint8)), ["only 5 images", "at least 16"]),
    (dict(images=np.zeros((20, 8, 8), np.uint8), labels=np.zeros(19)), ["'labels' has shape (19,)"]),
    (dict(images=np.zeros((20, 8, 8), np.uint8), y=np.full(20, -1)), ["labels must be 0..999"]),
    (dict(images=np.zeros((20, 8, 8), np.uint8), labels=np.full(20, 0.5)), ["fractions"]),
    (dict(a=np.zeros((20, 8, 8)), b=np.zeros(3)), ["none is named 'images' or 'x'"]),
])
def test_bad_npz_arrays(tmp_path, arrays, fragments):
    expect_error(save_npz(tmp_path / "bad.npz", **arrays), "'bad.npz'", *fragments)


def test_npz_with_pickled_objects_is_never_loaded(tmp_path):
    objects = np.empty(20, dtype=object)
    objects[:] = [np.zeros((8, 8))] * 20
    np.savez(tmp_path / "obj.npz", images=objects)
    expect_error(tmp_path / "obj.npz", "holds Python objects")


def test_not_an_npz(tmp_path):
    (tmp_path / "fake.npz").write_bytes(b"\x93NUMPY but not really")
    expect_error(tmp_path / "fake.npz", "'fake.npz' is not a valid .npz file")
    write_zip(tmp_path / "zip.npz", grey_members(16))
    expect_error(tmp_path / "zip.npz", "is not a NumPy array")


def test_npz_bomb_and_huge_images_are_caught_from_headers(tmp_path):
    path = save_npz(tmp_path / "zeros.npz", images=np.zeros((16, 512, 512), np.uint8))
    assert path.stat().st_size < 100_000
    expect_error(path, "would expand to 4 MB", limits=UploadLimits(max_expanded_mb=1))
    expect_error(path, "512x512 images", limits=UploadLimits(max_image_pixels=100_000))


# -- limits from the environment -----------------------------------------------------------------

def test_limits_come_from_env_vars():
    limits = UploadLimits.from_env({"GAN_MAX_UPLOAD_MB": "5.5", "GAN_MAX_IMAGES": "300", "GAN_MIN_IMAGES": "4"})
    assert (limits.max_upload_mb, limits.max_images, limits.min_images) == (5.5, 300, 4)
    assert limits.max_image_pixels == UploadLimits().max_image_pixels
    assert set(ENV_VARS) == set(UploadLimits.__dataclass_fields__)


@pytest.mark.parametrize("var, text", [("GAN_MAX_IMAGES", "lots"), ("GAN_MAX_IMAGES", "2.5"),
                                       ("GAN_MAX_UPLOAD_MB", "-1"), ("GAN_MIN_IMAGES", "0")])
def test_bad_env_values_name_the_variable(var, text):
    with pytest.raises(DataError, match=var):
        UploadLimits.from_env({var: text})


def test_load_dataset_reads_limits_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_MAX_IMAGES", "10")
    path = write_zip(tmp_path / "twenty.zip", grey_members(20))
    with pytest.raises(DataError, match="limit is 10"):
        load_dataset(default_config(str(path)))
