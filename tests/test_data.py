"""Built-in datasets, the tf.data pipeline and real samples (uploads live in test_uploads.py)."""
import socket

import keras
import numpy as np
import pytest

from playground.engine.config import TrainConfig, default_config
from playground.data.datasets import (DIGIT_CLASSES, TOY_POOL_SIZE, DataError, Dataset, load_dataset, load_digits,
                             make_pipeline, real_sample, cluster_labels, with_clusters, few_rows)


def _nearest_mode_offsets(dataset):
    points = dataset.x.astype(np.float64) * dataset.scale
    distances = np.linalg.norm(points[:, None, :] - dataset.modes[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    return points - dataset.modes[nearest], nearest


# -- 2D toys -------------------------------------------------------------------------------------

def test_ring_is_eight_gaussians_on_radius_two_with_sd_002():
    ring = load_dataset(default_config("ring", seed=3))
    assert ring.kind == "toy" and ring.labels is None and ring.num_classes == 0
    assert ring.x.shape == (TOY_POOL_SIZE, 2) and ring.x.dtype == np.float32
    assert ring.scale == 2.0 and ring.mode_sd == 0.02
    assert ring.modes.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(ring.modes, axis=1), 2.0, atol=1e-6)
    offsets, nearest = _nearest_mode_offsets(ring)
    assert np.bincount(nearest, minlength=8).min() > TOY_POOL_SIZE / 8 * 0.9   # every mode is used, evenly
    np.testing.assert_allclose(offsets.std(axis=0), 0.02, rtol=0.05)
    assert np.abs(offsets).max() < 0.02 * 6


def test_grid_is_25_gaussians_on_even_coordinates_with_sd_005():
    grid = load_dataset(default_config("grid"))
    assert grid.scale == 4.0 and grid.mode_sd == 0.05
    assert sorted(map(tuple, grid.modes.tolist())) == [(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)]
    offsets, nearest = _nearest_mode_offsets(grid)
    assert len(np.unique(nearest)) == 25
    np.testing.assert_allclose(offsets.std(axis=0), 0.05, rtol=0.05)
    assert np.abs(grid.x).max() < 1.1   # model space: roughly [-1, 1]


@pytest.mark.parametrize("name", ["spiral", "moons"])
def test_spiral_and_moons_fill_the_unit_square_without_modes(name):
    toy = load_dataset(default_config(name))
    assert toy.x.shape == (TOY_POOL_SIZE, 2) and toy.x.dtype == np.float32
    assert np.abs(toy.x).max() == pytest.approx(1.0)   # scale = max |coordinate|
    assert toy.modes is None and toy.mode_sd == 0.0
    assert abs(float(toy.x.mean())) < 0.2              # centred, so the [-1, 1] box is used well


def test_moons_are_two_interleaved_half_circles():
    moons = load_dataset(default_config("moons", seed=1))
    points = moons.x[:2000].astype(np.float64) * moons.scale + np.array([0.5, 0.25])
    upper = np.abs(np.linalg.norm(points, axis=1) - 1.0) < 0.25
    lower = np.abs(np.linalg.norm(points - np.array([1.0, 0.5]), axis=1) - 1.0) < 0.25
    assert (upper | lower).mean() > 0.98
    assert 0.4 < upper.mean() < 0.6      # both moons appear in any slice of the pool


def test_spiral_radius_grows_with_angle():
    spiral = load_dataset(default_config("spiral"))
    points = spiral.x.astype(np.float64) * spiral.scale
    radius = np.linalg.norm(points, axis=1)
    assert radius.min() > 1.5 * np.pi - 1.5 and radius.max() < 4.5 * np.pi + 1.5


@pytest.mark.parametrize("name", ["ring", "grid", "spiral", "moons"])
def test_toys_are_deterministic_per_seed(name):
    first = load_dataset(default_config(name, seed=5)).x
    again = load_dataset(default_config(name, seed=5)).x
    other = load_dataset(default_config(name, seed=6)).x
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_dataset_arrays_are_read_only():
    ring = load_dataset(default_config("ring"))
    with pytest.raises(ValueError):
        ring.x[0, 0] = 5.0


# -- user points ---------------------------------------------------------------------------------

def test_user_points_are_kept_and_scaled_to_unit_box():
    points = np.random.default_rng(0).normal(0.0, 3.0, size=(50, 2))
    toy = load_dataset(default_config("points"), points=points)
    assert toy.name == "points" and toy.kind == "toy"
    assert toy.scale == pytest.approx(np.abs(points).max())
    np.testing.assert_allclose(toy.x * toy.scale, points, rtol=1e-5)


@pytest.mark.parametrize("points, message", [
    (None, "needs the points"),
    (np.zeros((20, 3)), "shape (N, 2)"),
    (np.zeros(20), "shape (N, 2)"),
    (np.ones((7, 2)), "between 8"),
    (np.array([[0.0, 1.0]] * 9 + [[np.nan, 0.0]]), "NaN"),
    (np.array([[1.0, np.inf]] * 10), "NaN or infinite"),
    (np.zeros((10, 2)), "all at (0, 0)"),
    ([["a", "b"]] * 10, "must be numbers"),
])
def test_bad_points_raise_clear_errors(points, message):
    with pytest.raises(DataError) as info:
        load_dataset(default_config("points"), points=points)
    assert message in str(info.value)


def test_points_given_for_another_dataset_is_an_error():
    with pytest.raises(DataError, match="set dataset to 'points'"):
        load_dataset(default_config("ring"), points=np.ones((10, 2)))


# -- images --------------------------------------------------------------------------------------

def test_digits_are_bundled_labelled_and_in_tanh_range():
    digits = load_dataset(default_config("digits"))
    assert digits.kind == "image" and digits.name == "digits"
    assert digits.x.shape == (5000, 28, 28, 1) and digits.x.dtype == np.float32
    assert digits.x.min() == -1.0 and digits.x.max() == 1.0
    assert digits.labels.dtype == np.int32 and digits.num_classes == 10
    assert np.bincount(digits.labels).tolist() == [500] * 10
    assert digits.class_names == DIGIT_CLASSES
    raw, _ = load_digits()
    np.testing.assert_allclose(digits.x[7, :, :, 0], raw[7] / 127.5 - 1.0, atol=1e-6)


def test_digits_follow_image_size_and_channels():
    digits = load_dataset(default_config("digits", image_size=16, channels=3))
    assert digits.x.shape == (5000, 16, 16, 3)
    assert -1.0 <= digits.x.min() < digits.x.max() <= 1.0
    np.testing.assert_allclose(digits.x[..., 0], digits.x[..., 2])   # grey copied into R, G and B


def _block_network(monkeypatch, tmp_path):
    """No cached copy (Keras' cache pointed at an empty folder) and no way to open a connection."""
    monkeypatch.setattr(keras.src.backend.config, "_KERAS_DIR", str(tmp_path))

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_offline_keras_datasets_say_to_use_digits(name, monkeypatch, tmp_path):
    _block_network(monkeypatch, tmp_path)
    with pytest.raises(DataError) as info:
        load_dataset(default_config(name))
    message = str(info.value)
    assert "'digits'" in message and "internet" in message and name in message
    assert "URL fetch failure" in message   # Keras' own reason is kept, not hidden


def test_mnist_arrays_from_keras_become_a_labelled_dataset(monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=40).astype(np.uint8)
    # Stand-in for the downloaded file (the test never touches the network); our code runs for real.
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: ((images, labels), (images, labels)))
    fashion = load_dataset(default_config("fashion"))
    assert fashion.x.shape == (40, 28, 28, 1) and fashion.num_classes == 10
    assert fashion.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(fashion.labels, labels)
    np.testing.assert_allclose(fashion.x[..., 0], images / 127.5 - 1.0, atol=1e-6)


# -- pipeline ------------------------------------------------------------------------------------

def _indexed_images(n):
    """Each image is filled with its own index, so a batch shows which rows (and labels) it holds."""
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 4, 4, 1)).copy()
    return Dataset(name="indexed", kind="image", x=x, labels=np.arange(n, dtype=np.int32) % 3, num_classes=3)


def test_pipeline_toy_batches_are_float_points_with_zero_labels():
    ring = load_dataset(default_config("ring"))
    pipeline = make_pipeline(ring, batch_size=64, seed=0)
    assert pipeline.element_spec[0].shape == (64, 2) and pipeline.element_spec[1].shape == (64,)
    x, y = next(iter(pipeline))
    assert x.dtype.name == "float32" and x.shape == (64, 2)
    assert y.dtype.name == "int32" and not np.any(y.numpy())
    assert np.isin(x.numpy().round(6), ring.x.round(6)).all()


def test_pipeline_keeps_images_and_labels_paired_and_covers_each_epoch():
    data = _indexed_images(12)
    it = iter(make_pipeline(data, batch_size=4, seed=1))
    rows = []
    for _ in range(3):   # exactly one epoch
        x, y = next(it)
        assert x.shape == (4, 4, 4, 1)
        index = x.numpy()[:, 0, 0, 0].astype(int)
        np.testing.assert_array_equal(y.numpy(), index % 3)
        rows.extend(index)
    assert sorted(rows) == list(range(12))   # shuffled without replacement
    assert rows != list(range(12))


def test_pipeline_is_seeded():
    def first_batches(seed):
        it = iter(make_pipeline(_indexed_images(50), batch_size=8, seed=seed))
        return [next(it)[0].numpy()[:, 0, 0, 0] for _ in range(8)]

    np.testing.assert_array_equal(first_batches(3), first_batches(3))
    assert not np.array_equal(first_batches(3), first_batches(4))


def test_pipeline_does_not_autotune_so_dropping_a_run_is_quick():
    # tf.data's autotuner sleeps up to 60 s between rounds and deleting an iterator waits for it: a closed
    # session's cleanup once took 20-60 s. Timing that here would take a minute; the cause is this option.
    pipeline = make_pipeline(_indexed_images(10), batch_size=4, seed=0)
    assert pipeline.options().autotune.enabled is False
    it = iter(pipeline)
    next(it)
    del it      # an iterator in use is deleted (the prefetch thread is stopped) without error


def test_clusters_separate_distinct_images_and_are_seeded():
    rng = np.random.default_rng(0)
    dark = rng.normal(-0.8, 0.05, (150, 8, 8, 1))
    light = rng.normal(0.8, 0.05, (150, 8, 8, 1))
    images = np.concatenate([dark, light]).astype(np.float32)
    labels = cluster_labels(images, 2, seed=3)
    assert len(set(labels[:150])) == 1 and len(set(labels[150:])) == 1 and labels[0] != labels[-1]
    np.testing.assert_array_equal(cluster_labels(images, 2, seed=3), labels)


def test_clusters_of_2d_points_follow_their_blobs():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal((-1, 0), 0.05, (100, 2)), rng.normal((1, 0), 0.05, (100, 2)),
                             rng.normal((0, 1), 0.05, (100, 2))]).astype(np.float32)
    labels = cluster_labels(points, 3, seed=0)
    assert [len(set(labels[i:i + 100])) for i in (0, 100, 200)] == [1, 1, 1] and len(set(labels)) == 3


def test_with_clusters_labels_big_datasets_and_leaves_small_ones_alone():
    big = _indexed_images(500)
    clustered = with_clusters(big, 4, seed=0)
    assert clustered.pseudo_labels and clustered.num_classes == 4 and set(clustered.labels) == {0, 1, 2, 3}
    assert clustered.class_names[0] == "cluster 0"
    small = _indexed_images(100)
    assert with_clusters(small, 4, seed=0) is small       # fewer than 50 examples per cluster


def test_pipeline_batches_may_exceed_the_dataset_size():
    x, _ = next(iter(make_pipeline(_indexed_images(10), batch_size=16, seed=0)))
    index = x.numpy()[:, 0, 0, 0].astype(int)
    assert len(index) == 16 and set(index) == set(range(10))


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_pipeline_rejects_bad_batch_size(batch_size):
    with pytest.raises(DataError, match="batch_size"):
        make_pipeline(_indexed_images(10), batch_size=batch_size, seed=0)


# -- real samples --------------------------------------------------------------------------------

def test_real_sample_of_toys_is_in_data_coordinates():
    grid = load_dataset(default_config("grid"))
    sample = real_sample(grid, 300, seed=2)
    assert sample.shape == (300, 2) and sample.dtype == np.float32
    assert np.abs(sample).max() > 3.5       # data coordinates reach ±4, model space only ±1
    np.testing.assert_array_equal(sample, real_sample(grid, 300, seed=2))


def test_real_sample_of_images_is_distinct_when_possible_and_repeats_otherwise():
    data = _indexed_images(20)
    distinct = real_sample(data, 20, seed=0)[:, 0, 0, 0]
    assert sorted(distinct.astype(int)) == list(range(20))
    repeated = real_sample(data, 64, seed=0)
    assert repeated.shape == (64, 4, 4, 1)
    with pytest.raises(DataError, match="n must be"):
        real_sample(data, 0, seed=0)


def test_few_rows_are_a_seeded_subset_of_the_asked_size_with_classes_taking_turns():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 3)
    rows = few_rows(labels, len(labels), 9, seed=4)
    assert len(rows) == len(set(rows)) == 9 and np.all(np.diff(rows) > 0)
    assert np.bincount(labels[rows]).tolist() == [3, 3, 3]
    assert sorted(np.bincount(labels[few_rows(labels, len(labels), 20, seed=4)])) == [3, 8, 9], "a small class gives all"
    np.testing.assert_array_equal(rows, few_rows(labels, len(labels), 9, seed=4))
    assert not np.array_equal(rows, few_rows(labels, len(labels), 9, seed=5))
    plain = few_rows(None, 83, 10, seed=1)
    assert len(set(plain)) == 10 and plain.max() < 83
    np.testing.assert_array_equal(few_rows(None, 5, 9, seed=1), np.arange(5))


def test_max_images_trains_on_the_same_balanced_digits_every_time():
    digits = load_dataset(default_config("digits", max_images=50, seed=2))
    assert digits.x.shape == (50, 28, 28, 1) and np.bincount(digits.labels).tolist() == [5] * 10
    images, labels = load_digits()
    rows = few_rows(labels, len(labels), 50, seed=2)
    np.testing.assert_array_equal(digits.labels, labels[rows])
    np.testing.assert_array_equal(digits.x, load_dataset(default_config("digits", max_images=50, seed=2)).x)
    assert len(load_dataset(default_config("digits", max_images=10**6)).x) == len(images)
    batches = make_pipeline(digits, 64, seed=0).take(2)     # every batch comes from the 50 (batches cross epochs)
    seen = np.concatenate([x.numpy() for x, _ in batches]).reshape(128, -1)
    kept = digits.x.reshape(50, -1)
    assert all((np.abs(kept - row).max(axis=1) == 0).any() for row in seen)


def test_config_from_json_roundtrip_still_loads():
    config = TrainConfig.from_json(default_config("ring").to_json())
    assert load_dataset(config).name == "ring"
