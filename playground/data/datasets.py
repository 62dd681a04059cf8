"""Datasets → in-memory arrays → tf.data pipelines.

`load_dataset(config)` turns `config.dataset` into a `Dataset` of float32 arrays:

- 2D toys (ring, grid, spiral, moons, user `points`): a fixed, seeded pool of points, stored in *model
  space* (data / scale, roughly inside [-1, 1]); `real_sample` returns data coordinates again.
- digits: 5,000 MNIST digits bundled in `assets/digits.npz` — works offline.
- shapes: coloured circles, squares and triangles drawn at run time (`playground.data.shapes`) — works offline.
- mnist, fashion: `keras.datasets` (downloads once, then Keras caches it); offline → DataError.
- anything else is a path to a user upload (.zip, .npz or folder of images), read and validated by
  `playground.data.uploads` under `UploadLimits`.

Images are (N, H, W, C) float32 in [-1, 1] at `config.image_size` / `config.channels`; `config.max_images` keeps
a fixed, seeded, class-balanced subset of them (`few_rows`).
`make_pipeline` feeds the trainer (x, y) batches with one fixed signature.
"""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from playground.engine.config import TrainConfig
from playground.data.distances import squared_distances
from playground.data import shapes
from playground.data.images import DataError, fit_uint8_images
from playground.data.uploads import UploadLimits, load_upload

DIGITS_PATH = pathlib.Path(__file__).resolve().parent / "assets" / "digits.npz"
TOY_POOL_SIZE = 20_000
MIN_POINTS = 8
MAX_POINTS = 1_000_000
DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str                    # "toy" or "image"
    x: np.ndarray                # float32: toys (N, 2) scaled by 1/scale; images (N, H, W, C) in [-1, 1]
    labels: np.ndarray | None    # int32 (N,) or None
    num_classes: int             # 0 when unlabelled
    scale: float = 1.0           # toys: model space * scale = data coordinates
    modes: np.ndarray | None = None   # toys with known Gaussian modes: (K, 2) centres in data coordinates
    mode_sd: float = 0.0              # their standard deviation
    class_names: tuple = ()           # one name per label (folder names for uploads), else ()
    pseudo_labels: bool = False       # labels are k-means clusters (self-conditioning), not real classes
    notes: tuple = ()                 # facts the UI should show, e.g. files in an upload that were skipped


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 bundled MNIST digits: uint8 images (5000, 28, 28) and uint8 labels (5000,)."""
    with np.load(DIGITS_PATH) as archive:
        return archive["images"], archive["labels"]


# -- dispatch ------------------------------------------------------------------------------------

def load_dataset(config: TrainConfig, points: np.ndarray | None = None,
                 limits: "UploadLimits | None" = None) -> Dataset:
    """The dataset `config.dataset` names; `points` only for dataset "points"; `limits` for uploads
    (default: `UploadLimits.from_env()`)."""
    name = config.dataset
    if points is not None and name != "points":
        raise DataError(f"points were given but dataset is {name!r}; set dataset to 'points' to train on them")
    if name in TOY_BUILDERS:
        return _toy_dataset(name, config.seed)
    if name == "points":
        return _points_dataset(points)
    if name == "digits":
        images, labels = load_digits()
        return _image_dataset("digits", images, labels, DIGIT_CLASSES, config)
    if name == "shapes":
        images, labels = shapes.draw_shapes(size=config.image_size)
        return _image_dataset("shapes", images, labels, shapes.CLASS_NAMES, config)
    if name in KERAS_LOADERS:
        images, labels = _load_keras_dataset(name)
        classes = FASHION_CLASSES if name == "fashion" else DIGIT_CLASSES
        return _image_dataset(name, images, labels, classes, config)
    return _upload_dataset(config, limits)


# -- 2D toys -------------------------------------------------------------------------------------
# Each builder returns (points in data coordinates, modes or None, mode_sd, scale or None).
# scale None means "max |coordinate| of the pool", for shapes without a natural radius.

def _gaussian_mixture(rng, n, modes, sd):
    which = rng.integers(0, len(modes), size=n)
    return modes[which] + rng.normal(0.0, sd, size=(n, 2))


def _ring(rng, n):
    angles = 2 * np.pi * np.arange(8) / 8
    modes = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _gaussian_mixture(rng, n, modes, 0.02), modes, 0.02, 2.0


def _grid(rng, n):
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    modes = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
    return _gaussian_mixture(rng, n, modes, 0.05), modes, 0.05, 4.0


def _spiral(rng, n):
    # t² uniform makes points evenly spaced along the arc (arc length grows like t), so the
    # outer turns are not sparser than the inner ones.
    start, end = 1.5 * np.pi, 4.5 * np.pi
    t = np.sqrt(rng.uniform(start**2, end**2, size=n))
    clean = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    return clean + rng.normal(0.0, 0.3, size=(n, 2)), None, 0.0, None


def _moons(rng, n):
    # sklearn's make_moons shapes, centred on the origin so that dividing by scale keeps them in [-1, 1].
    # Half the points on each moon, in random order so that any slice of the pool shows both.
    upper = rng.permutation(n) < n // 2
    theta = rng.uniform(0.0, np.pi, size=n)
    x = np.where(upper, np.cos(theta), 1.0 - np.cos(theta))
    y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
    clean = np.stack([x - 0.5, y - 0.25], axis=1)
    return clean + rng.normal(0.0, 0.05, size=(n, 2)), None, 0.0, None


TOY_BUILDERS = {"ring": _ring, "grid": _grid, "spiral": _spiral, "moons": _moons}


def _toy_dataset(name, seed):
    rng = np.random.default_rng(seed)
    data, modes, mode_sd, scale = TOY_BUILDERS[name](rng, TOY_POOL_SIZE)
    scale = float(np.abs(data).max()) if scale is None else float(scale)
    return _toy(name, data, scale, modes, mode_sd)


def _points_dataset(points):
    if points is None:
        raise DataError("dataset 'points' needs the points themselves: draw or upload at least "
                        f"{MIN_POINTS} (x, y) points")
    try:
        data = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"points must be numbers in an (N, 2) array: {err}") from err
    if data.ndim != 2 or data.shape[1] != 2:
        raise DataError(f"points must have shape (N, 2) — one (x, y) pair per row — got shape {data.shape}")
    if not MIN_POINTS <= len(data) <= MAX_POINTS:
        raise DataError(f"points must number between {MIN_POINTS} and {MAX_POINTS:,}, got {len(data):,}")
    if not np.isfinite(data).all():
        raise DataError("points contain NaN or infinite values; give finite (x, y) numbers only")
    scale = float(np.abs(data).max())
    if scale == 0.0:
        raise DataError("points are all at (0, 0); a GAN needs points that are spread out")
    return _toy("points", data, scale, None, 0.0)


def _toy(name, data, scale, modes, mode_sd):
    return Dataset(name=name, kind="toy", x=_frozen(data / scale, np.float32), labels=None, num_classes=0,
                   scale=scale, modes=None if modes is None else _frozen(modes, np.float32),
                   mode_sd=float(mode_sd))


# -- images --------------------------------------------------------------------------------------

KERAS_LOADERS = {"mnist": lambda: keras.datasets.mnist.load_data(),
                 "fashion": lambda: keras.datasets.fashion_mnist.load_data()}


def _load_keras_dataset(name):
    try:
        (images, labels), _ = KERAS_LOADERS[name]()
    except Exception as err:  # Keras reports a failed download as a bare Exception ("URL fetch failure")
        raise DataError(
            f"could not load {name!r} through keras.datasets ({err}). It is downloaded once and then cached "
            f"in ~/.keras/datasets, so the first use needs internet. Offline? Use dataset 'digits' "
            f"(5,000 MNIST digits bundled with the app)."
        ) from err
    return images, labels


def _image_dataset(name, images, labels, class_names, config, notes=()):
    if config.max_images:
        rows = few_rows(labels, len(images), config.max_images, config.seed)
        images, labels = images[rows], None if labels is None else labels[rows]
    fitted = fit_uint8_images(images, config.image_size, config.channels)
    labels = None if labels is None else _frozen(labels, np.int32)
    x = to_model_space(fitted)   # a fresh array, so freeze it in place rather than copy 188 MB of MNIST
    x.setflags(write=False)
    return Dataset(name=name, kind="image", x=x, labels=labels,
                   num_classes=len(class_names) if labels is not None else 0,
                   class_names=tuple(class_names) if labels is not None else (), notes=tuple(notes))


def few_rows(labels: np.ndarray | None, n: int, count: int, seed: int) -> np.ndarray:
    """The rows of a fixed, seeded subset of `count` of `n` examples (all when count >= n), in ascending order.
    With labels it is class-balanced: the classes take turns (in a seeded order) until `count` are picked, so each
    has its share and a small class gives all it has."""
    order = np.random.default_rng(seed).permutation(n)
    if labels is None:
        return np.sort(order[:count])
    shuffled = np.asarray(labels)[order]
    turn = np.zeros(n, np.int64)                 # how many of its class come before it in the shuffled order
    for label in np.unique(shuffled):
        where = np.flatnonzero(shuffled == label)
        turn[where] = np.arange(len(where))
    return np.sort(order[np.argsort(turn, kind="stable")[:count]])


def _upload_dataset(config, limits):
    loaded = load_upload(config.dataset, config.image_size, config.channels, limits or UploadLimits.from_env())
    name = pathlib.Path(config.dataset).name or config.dataset
    return _image_dataset(name, loaded.images, loaded.labels, loaded.class_names, config, loaded.notes)


def to_model_space(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 → float32 in [-1, 1] (what a tanh generator outputs)."""
    scaled = images.astype(np.float32)
    scaled /= 127.5   # in place: 60,000 MNIST images are 188 MB as float32, so avoid temporaries
    scaled -= 1.0
    return scaled


def _frozen(values, dtype):
    # Trainer and UI share one Dataset across threads; read-only arrays make accidental edits fail loudly.
    array = np.array(values, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


# -- feeding the trainer -------------------------------------------------------------------------

MIN_EXAMPLES_PER_CLUSTER = 50   # fewer examples than this per cluster: train plainly unconditional
KMEANS_ROUNDS = 25


def as_trained(dataset: Dataset, config: TrainConfig) -> Dataset:
    """The data as a run of this (resolved) config sees it: with k-means clusters as labels when the run is
    unconditional and self-conditioned, else as loaded."""
    if config.conditional is False and config.clusters:
        return with_clusters(dataset, config.clusters, config.seed)
    return dataset


def with_clusters(dataset: Dataset, k: int, seed: int) -> Dataset:
    """The examples (images or 2D points) with k-means clusters as their labels (self-conditioned GAN, Liu et al.
    2020), or the dataset unchanged when it is too small for k clusters. Seeded: the same data and seed give the
    same clusters, so a saved run resumes with the classes it was trained on."""
    if k < 2 or len(dataset.x) < MIN_EXAMPLES_PER_CLUSTER * k:
        return dataset
    labels = cluster_labels(dataset.x, k, seed)
    return dataclasses.replace(dataset, labels=labels, num_classes=k, pseudo_labels=True,
                               class_names=tuple(f"cluster {i}" for i in range(k)))


def cluster_labels(examples: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means (k-means++ start) on 2D points as they are, or on 2x2-pooled pixels of images (~0.2 s for 5,000
    digits). int32 labels (N,)."""
    points = _cluster_features(examples)
    n = len(points)
    rng = np.random.default_rng(seed)
    centres = points[[rng.integers(n)]]
    for _ in range(1, k):
        gap = squared_distances(points, centres).min(axis=1)
        pick = rng.choice(n, p=gap / gap.sum()) if gap.sum() > 0 else rng.integers(n)   # all alike: any will do
        centres = np.vstack([centres, points[pick]])
    for _ in range(KMEANS_ROUNDS):
        labels = squared_distances(points, centres).argmin(axis=1)
        centres = np.array([points[labels == j].mean(axis=0) if np.any(labels == j) else centres[j]
                            for j in range(k)])
    return squared_distances(points, centres).argmin(axis=1).astype(np.int32)


def _cluster_features(examples: np.ndarray) -> np.ndarray:
    if examples.ndim == 2:                      # 2D points
        return examples.astype(np.float64)
    n, height, width, channels = examples.shape
    pooled = examples[:, :height // 2 * 2, :width // 2 * 2].reshape(n, height // 2, 2, width // 2, 2, channels)
    return pooled.mean(axis=(2, 4)).reshape(n, -1).astype(np.float64)


def cluster_centres(dataset: Dataset) -> np.ndarray:
    """The mean of each class's examples (k, *example shape), float32: where a clustered toy's classes sit.
    A class with no examples sits far away (1e6), so it is nobody's nearest centre."""
    far = np.full(dataset.x.shape[1:], 1e6)
    return np.stack([dataset.x[dataset.labels == j].mean(axis=0) if np.any(dataset.labels == j) else far
                     for j in range(dataset.num_classes)]).astype(np.float32)


def label_shares(dataset: Dataset) -> np.ndarray:
    """Each class's share of the examples (num_classes,): how often a generator should draw it."""
    return np.bincount(dataset.labels, minlength=dataset.num_classes) / len(dataset.labels)


PREFETCH_BATCHES = 2     # one batch being used, the next one ready


def make_pipeline(dataset: Dataset, batch_size: int, seed: int) -> tf.data.Dataset:
    """Endless (x, y) batches: x float32 (B, 2) or (B, H, W, C); y int32 (B,) labels, zeros when unlabelled.

    Each epoch is a seeded permutation of the indices; `rebatch` cuts the stream of permutations into
    batches (crossing epoch boundaries, so batch_size may exceed N), then one gather per batch picks the
    rows. That is one tf.data element per batch instead of one per example: measured ~2-3x less overhead
    per batch than from_tensor_slices → shuffle → batch for 256-point toy batches. The arrays already live
    in memory as constants, so a `cache()` would add nothing.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DataError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    n = len(dataset.x)
    x = tf.constant(dataset.x)
    y = tf.constant(dataset.labels if dataset.labels is not None else np.zeros(n, np.int32))
    seed = tf.constant(int(seed), tf.int64)

    def epoch_order(epoch):
        return tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int32), seed=tf.stack([seed, epoch]))

    def gather(indices):
        return tf.gather(x, indices), tf.gather(y, indices)

    indices = tf.data.Dataset.range(2**62).map(epoch_order).rebatch(int(batch_size), drop_remainder=True)
    # A fixed prefetch and no autotuning: deleting an iterator waits for the autotuner's next wake-up (up to 60 s),
    # which held a stopped run's cleanup and a server thread (measured: docs/performance.md).
    options = tf.data.Options()
    options.autotune.enabled = False
    return indices.map(gather).prefetch(PREFETCH_BATCHES).with_options(options)


def real_sample(dataset: Dataset, n: int, seed: int) -> np.ndarray:
    """n real examples: toys as (n, 2) data coordinates (x * scale), images as stored.

    Distinct examples when the dataset has at least n; otherwise (a 16-image upload asked for a 512-sample
    view) examples repeat, so callers always get exactly n rows.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"n must be a whole number >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(dataset.x), size=int(n), replace=n > len(dataset.x))
    sample = dataset.x[rows]
    return (sample * dataset.scale).astype(np.float32) if dataset.kind == "toy" else sample.copy()
