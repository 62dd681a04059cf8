"""How good and how varied are the samples? Numbers a trainer can afford every few seconds.

- Images (28x28 grey digits only): Frechet classifier distance (FCD) against the bundled digits, the share
  of confidently classified samples, how many digit classes appear, and label accuracy for conditional GANs.
  The classifier is the project's own (`checkpoints/digit_classifier.keras`, made by
  `scripts/train_classifier.py`); it is loaded the first time image metrics are asked for, not at import,
  and TensorFlow itself is imported only then, so the app starts fast.
- 2D toys: modes covered and the share of high-quality samples.
- Memorization: nearest-training-neighbour distances of samples vs of training images themselves.
- `collapse_warning`: a human-readable warning when the generator looks mode-collapsed.

Every check raises `MetricsError` (a ValueError) saying what to do; `MetricsNotApplicable`, its subclass,
means "these are not 28x28 grey images", so a caller can skip image metrics for such data.
"""
from __future__ import annotations

import pathlib
import threading

import numpy as np

from playground.data.distances import squared_distances

CLASSIFIER_PATH = pathlib.Path(__file__).resolve().parents[2] / "checkpoints" / "digit_classifier.keras"
FEATURE_LAYER = "features"        # the classifier's 128-unit penultimate layer: the FCD embedding
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
CONFIDENT_PROB = 0.9              # a sample is "confident" when its top softmax probability exceeds this
CLASS_MIN_SHARE = 0.01            # a class is "covered" when at least 1% of samples are predicted as it
MODE_RADIUS_SDS = 3.0             # a 2D point within 3 sd of a centre belongs to it (98.9% of a 2D Gaussian)
BATCH_SIZE = 500                  # classifier batch: bounds memory; large enough to keep both cores busy
RANGE_TOLERANCE = 1e-3            # tanh outputs may round a hair past +-1

# Collapse rules (see `collapse_warning`).
MIN_CLASSES = 2                   # a digit generator showing <= 2 classes has collapsed
DIVERSITY_FLOOR = 0.5             # samples less than half as spread out as real data look collapsed
DIVERSITY_N = 256                 # samples used for mean pairwise distance: ~1 ms, plenty for a ratio


class MetricsError(ValueError):
    """Bad input to a metric; the message says what to do."""


class MetricsNotApplicable(MetricsError):
    """Image metrics apply only to 28x28 grey digit-like images; callers may skip them for other data."""


def digits_to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) digits -> float32 (N, 28, 28, 1) in [-1, 1], the scaling the GAN and classifier use."""
    return (images.astype(np.float32) / 127.5 - 1.0)[..., None]


# -- the classifier, loaded once on first use ------------------------------------------------------------
_lock = threading.Lock()  # the trainer thread and the UI may both ask first
_cache: dict = {}


def _extractor():
    """A compiled function images -> (features, probabilities), loaded on first call."""
    with _lock:
        if "extract" not in _cache:
            _cache["extract"] = _load_extractor(CLASSIFIER_PATH)
        return _cache["extract"]


def _load_extractor(path: pathlib.Path):
    if not path.exists():
        raise MetricsError(f"digit classifier {path} is missing; remake it with `python scripts/train_classifier.py`")
    import keras
    import tensorflow as tf

    model = keras.models.load_model(path, safe_mode=True, compile=False)
    both = keras.Model(model.inputs, [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])

    # One trace for any batch size: eager Keras calls are several times slower.
    @tf.function(input_signature=[tf.TensorSpec((None, *IMAGE_SHAPE), tf.float32)])
    def extract(images):
        return both(images, training=False)

    return extract


def classifier_outputs(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28, 1) images in [-1, 1] -> float64 features (N, 128) and probabilities (N, 10)."""
    images = check_digit_images(images)
    extract = _extractor()
    features, probs = [], []
    for start in range(0, len(images), BATCH_SIZE):
        batch_features, batch_probs = extract(images[start:start + BATCH_SIZE])
        features.append(batch_features.numpy())
        probs.append(batch_probs.numpy())
    return np.concatenate(features).astype(np.float64), np.concatenate(probs).astype(np.float64)


def reference_stats() -> tuple[np.ndarray, np.ndarray]:
    """Feature mean and covariance of all bundled digits, computed once (~1 s) and cached."""
    if "reference" not in _cache:
        from playground.data.datasets import load_digits  # lazily: datasets.py imports TensorFlow, toy metrics need not

        features, _ = classifier_outputs(digits_to_unit_range(load_digits()[0]))
        _cache["reference"] = feature_stats(features)
    return _cache["reference"]


# -- Frechet distance ---------------------------------------------------------------------------------------
def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of (N, D) features, N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise MetricsError(f"need features of shape (N>=2, D), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix; tiny negative eigenvalues from rounding are treated as 0."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^1/2) between two Gaussians.

    tr((C1 C2)^1/2) = tr((S C2 S)^1/2) with S = C1^1/2: S C2 S is symmetric PSD, so its eigenvalues are real and
    >= 0 and the trace is the sum of their square roots. No scipy needed, no complex rounding debris.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise MetricsError(f"shapes do not match: mu {mu1.shape} {mu2.shape}, cov {cov1.shape} {cov2.shape}")
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    distance = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical Gaussians


# -- image metrics --------------------------------------------------------------------------------------------
def check_digit_images(images) -> np.ndarray:
    """Return images as float32 (N, 28, 28, 1), or raise saying what is wrong and what to do."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1:] != IMAGE_SHAPE:
        raise MetricsNotApplicable(
            f"image metrics apply only to 28x28 grey digit-like images, got images of shape {images.shape[1:]}; "
            "skip them for this data")
    if images.ndim == 3 and images.shape[1:] == IMAGE_SHAPE[:2]:
        raise MetricsError(f"images need a channel axis: got {images.shape}, pass images[..., None]")
    if images.ndim != 4:
        raise MetricsError(f"expected images of shape (N, 28, 28, 1), got {images.shape}")
    if len(images) < 2:
        raise MetricsError(f"need at least 2 images (1,000+ for a stable FCD), got {len(images)}")
    if not np.issubdtype(images.dtype, np.floating):
        raise MetricsError(f"images must be floats in [-1, 1], got {images.dtype}; scale uint8 with x / 127.5 - 1")
    if not np.all(np.isfinite(images)):
        raise MetricsError("images contain NaN or infinity; the generator has probably diverged")
    low, high = float(images.min()), float(images.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise MetricsError(f"images must be in [-1, 1], got values in [{low:.3g}, {high:.3g}]")
    return images.astype(np.float32, copy=False)


def _check_labels(labels, count: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise MetricsError(f"labels must be {count} integers (one per image), got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise MetricsError(f"labels must be digit classes 0-9, got values in [{labels.min()}, {labels.max()}]")
    return labels


def image_metrics(images: np.ndarray, labels: np.ndarray | None = None) -> dict:
    """Quality and variety of (N, 28, 28, 1) digit samples in [-1, 1], judged by the project's classifier.

    fcd: Frechet distance between 128-d classifier features of the samples and of the 5,000 bundled digits
         (lower is better; 2,000 real digits score well under 1). Biased upward for small N: compare runs at
         the same N, 1,000+ recommended.
    confident_share: share of samples whose top class probability exceeds 0.9.
    classes_covered: how many of the 10 digits are predicted for at least 1% of the samples.
    label_accuracy (only with `labels`, for conditional generators): share predicted as the requested class.

    Meant for digit data (bundled digits, MNIST): on other 28x28 grey data (e.g. Fashion-MNIST) the numbers
    are computable but meaningless. Raises MetricsNotApplicable for other image shapes.
    """
    images = check_digit_images(images)
    labels = None if labels is None else _check_labels(labels, len(images))
    features, probs = classifier_outputs(images)
    predicted = probs.argmax(axis=1)
    class_shares = np.bincount(predicted, minlength=NUM_CLASSES) / len(images)
    result = {
        "fcd": frechet_distance(*feature_stats(features), *reference_stats()),
        "confident_share": float(np.mean(probs.max(axis=1) > CONFIDENT_PROB)),
        "classes_covered": int(np.sum(class_shares >= CLASS_MIN_SHARE)),
    }
    if labels is not None:
        result["label_accuracy"] = float(np.mean(predicted == labels))
    return result


# -- 2D toy metrics -------------------------------------------------------------------------------------------
def checked_points(points, name: str, error=MetricsError) -> np.ndarray:
    """2D points as float64 (N, 2), N >= 1, all finite; else `error` says which."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise error(f"{name} must have shape (N, 2) with N >= 1, got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise error(f"{name} contain NaN or infinity; the generator has probably diverged")
    return points


def toy_metrics(points: np.ndarray, modes: np.ndarray, sd: float) -> dict:
    """Coverage and quality of 2D samples from a mixture of Gaussians with centres `modes` (K, 2) and sd `sd`.

    A sample "hits" a mode when it lies within 3 sd of its centre (98.9% of a 2D Gaussian's mass).
    modes_covered: modes hit by at least 1/(4K) of the samples, a quarter of a fair share, so a few stray
                   points do not count as covering a mode but an uneven spread still does.
    high_quality_share: share of samples within 3 sd of their nearest centre.
    """
    points, modes = checked_points(points, "points"), checked_points(modes, "modes")
    if not np.isfinite(sd) or sd <= 0:
        raise MetricsError(f"sd must be a positive number, got {sd!r}")
    distances = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=2)  # (N, K)
    hits = distances <= MODE_RADIUS_SDS * sd
    shares = hits.sum(axis=0) / len(points)
    return {
        "modes_covered": int(np.sum(shares >= 1.0 / (4 * len(modes)))),
        "num_modes": int(len(modes)),
        "high_quality_share": float(np.mean(hits.any(axis=1))),
    }


# -- distances between samples ---------------------------------------------------------------------------------
def _flat(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or len(x) < 2:
        raise MetricsError(f"{name} must be an array of at least 2 samples, got shape {x.shape}")
    x = x.reshape(len(x), -1).astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise MetricsError(f"{name} contain NaN or infinity")
    return x


def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(squared_distances(a, b))


def _subset(x: np.ndarray, max_n: int, rng: np.random.Generator) -> np.ndarray:
    return x[rng.permutation(len(x))[:max_n]]


def memorization(samples: np.ndarray, train: np.ndarray, max_n: int = 500, max_reference: int = 5000,
                 seed: int = 0) -> dict:
    """Is the generator copying training images?

    For up to `max_n` samples: distance to the nearest of up to `max_reference` training images; for up to
    `max_n` of those training images: distance to the nearest *other* one. ratio = median of the first / median
    of the second: ~1 means samples sit as close to the training set as its own members do; << 1 means copying.
    Cost ~ 2 * max_n * max_reference * pixels (~0.2 s at the defaults for 28x28); call it now and then.
    """
    samples, train = _flat(samples, "samples"), _flat(train, "train")
    if samples.shape[1] != train.shape[1]:
        raise MetricsError(f"samples ({samples.shape[1]} values each) and train ({train.shape[1]}) differ in size")
    if max_n < 1 or max_reference < 2:
        raise MetricsError(f"need max_n >= 1 and max_reference >= 2, got {max_n}, {max_reference}")
    rng = np.random.default_rng(seed)
    samples, reference = _subset(samples, max_n, rng), _subset(train, max_reference, rng)
    sample_nearest = _pairwise_distances(samples, reference).min(axis=1)
    queries = min(max_n, len(reference))
    own = _pairwise_distances(reference[:queries], reference)
    own[np.arange(queries), np.arange(queries)] = np.inf  # a training image is not its own neighbour
    train_nearest = own.min(axis=1)
    train_median = float(np.median(train_nearest))
    if train_median == 0.0:
        raise MetricsError("most training images have an exact duplicate; remove duplicates first")
    sample_median = float(np.median(sample_nearest))
    return {"sample_to_train": sample_median, "train_to_train": train_median, "ratio": sample_median / train_median}


def sample_diversity(x: np.ndarray, max_n: int = DIVERSITY_N, seed: int = 0) -> float:
    """Mean pairwise Euclidean distance between up to `max_n` samples (images or points)."""
    x = _subset(_flat(x, "samples"), max_n, np.random.default_rng(seed))
    distances = _pairwise_distances(x, x)
    return float(distances.sum() / (len(x) * (len(x) - 1)))  # the diagonal is 0, so this averages pairs


# -- mode collapse --------------------------------------------------------------------------------------------
def collapse_warning(samples: np.ndarray | None = None, real: np.ndarray | None = None,
                     metrics: dict | None = None) -> str | None:
    """A human-readable mode-collapse warning, or None. Cheap (a few ms): call it whenever metrics are computed.

    Pass whatever you have: current `samples` with a `real` batch (same kind), and/or the latest `metrics`
    from `image_metrics` or `toy_metrics`. It fires when any of these holds:
    - samples are less than half as spread out (mean pairwise distance) as real data;
    - the classifier sees <= 2 digit classes (`classes_covered`);
    - samples land on modes (high_quality_share >= 0.5) but cover at most a quarter of them.
    """
    if (samples is None) != (real is None):
        raise MetricsError("pass samples and real together (diversity is relative to real data), or neither")
    reasons = []
    if samples is not None:
        real_spread = sample_diversity(real)
        if real_spread == 0.0:
            raise MetricsError("real data are all identical; cannot judge diversity against them")
        ratio = sample_diversity(samples) / real_spread
        if ratio < DIVERSITY_FLOOR:
            reasons.append(f"samples are only {ratio:.0%} as varied as real data")
    metrics = metrics or {}
    if "classes_covered" in metrics and metrics["classes_covered"] <= MIN_CLASSES:
        reasons.append(f"only {metrics['classes_covered']} of {NUM_CLASSES} digit classes appear")
    if "modes_covered" in metrics:
        covered, total = metrics["modes_covered"], metrics["num_modes"]
        if metrics["high_quality_share"] >= 0.5 and covered <= max(1, total // 4):
            reasons.append(f"samples cover only {covered} of {total} modes")
    if not reasons:
        return None
    return ("Possible mode collapse: " + "; ".join(reasons)
            + ". Try a lower learning rate, more D steps, or another loss (wgan-gp, hinge).")
