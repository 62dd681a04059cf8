"""Known answers for playground/metrics/quality.py, with the real shipped classifier and the real bundled digits."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from playground.metrics import quality as metrics
from playground.data.datasets import load_digits

RING_SD = 0.02
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    order = np.random.default_rng(0).permutation(len(images))
    return metrics.digits_to_unit_range(images)[order], labels[order].astype(np.int64)


@pytest.fixture(scope="module")
def real_scores(digits):
    x, labels = digits
    return metrics.image_metrics(x[:2000], labels[:2000])


def ring_modes(k=8, radius=2.0):
    angles = np.arange(k) * 2 * np.pi / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def mixture_samples(modes, sd, n, seed):
    rng = np.random.default_rng(seed)
    return modes[rng.integers(0, len(modes), n)] + rng.normal(0, sd, (n, 2))


# -- Frechet distance ---------------------------------------------------------------------------------------------
def test_frechet_distance_of_1d_gaussians_is_closed_form():
    # For 1-D Gaussians FD = (m1 - m2)^2 + (s1 - s2)^2.
    rng = np.random.default_rng(1)
    for _ in range(5):
        m1, m2, s1, s2 = rng.normal(size=2).tolist() + rng.uniform(0.1, 3, size=2).tolist()
        expected = (m1 - m2) ** 2 + (s1 - s2) ** 2
        assert metrics.frechet_distance([m1], [[s1 ** 2]], [m2], [[s2 ** 2]]) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_non_commuting_2d_gaussians_is_closed_form():
    # For 2x2 matrices tr(sqrt(A)) = sqrt(tr A + 2 sqrt(det A)), an answer independent of any eigen-solver.
    rng = np.random.default_rng(2)
    for _ in range(5):
        a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
        cov1, cov2 = a @ a.T + 0.1 * np.eye(2), b @ b.T + 0.1 * np.eye(2)
        assert not np.allclose(cov1 @ cov2, cov2 @ cov1)
        mu1, mu2 = rng.normal(size=2), rng.normal(size=2)
        product = cov1 @ cov2
        trace_sqrt = np.sqrt(np.trace(product) + 2 * np.sqrt(np.linalg.det(product)))
        expected = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt
        assert metrics.frechet_distance(mu1, cov1, mu2, cov2) == pytest.approx(expected, rel=1e-8)
        assert metrics.frechet_distance(mu2, cov2, mu1, cov1) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_in_128_dimensions():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(128, 300))
    cov = a @ a.T / 300  # full rank, badly conditioned: the case rounding errors hurt most
    mu = rng.normal(size=128)
    assert metrics.frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6 * np.trace(cov))
    # Scaled identities: FD = d * (sqrt(s1) - sqrt(s2))^2 + ||mu1 - mu2||^2.
    shift = rng.normal(size=128)
    expected = 128 * (np.sqrt(2.0) - np.sqrt(0.5)) ** 2 + np.sum(shift ** 2)
    got = metrics.frechet_distance(mu, 2.0 * np.eye(128), mu + shift, 0.5 * np.eye(128))
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(metrics.MetricsError, match="shapes do not match"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


# -- image metrics ------------------------------------------------------------------------------------------------
def test_real_digits_score_near_perfect(real_scores):
    assert real_scores["fcd"] < 1.0
    assert real_scores["confident_share"] > 0.95
    assert real_scores["classes_covered"] == 10
    assert real_scores["label_accuracy"] > 0.97


def test_wrong_labels_score_low_label_accuracy(digits):
    x, labels = digits
    wrong = (labels[:500] + 1 + np.random.default_rng(4).integers(0, 9, 500)) % 10  # never the true class
    assert np.all(wrong != labels[:500])
    assert metrics.image_metrics(x[:500], wrong)["label_accuracy"] < 0.05


def test_noise_scores_badly(real_scores):
    noise = np.random.default_rng(5).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32)
    scores = metrics.image_metrics(noise)
    assert scores["fcd"] > 100 * real_scores["fcd"]
    assert scores["confident_share"] < 0.1
    assert "label_accuracy" not in scores


def test_single_mode_scores_badly(digits, real_scores):
    copies = np.repeat(digits[0][:1], 2000, axis=0)
    scores = metrics.image_metrics(copies)
    assert scores["fcd"] > 100 * real_scores["fcd"]
    assert scores["classes_covered"] == 1


def test_one_digit_class_covers_one_class(digits):
    x, labels = digits
    assert metrics.image_metrics(x[labels == 7])["classes_covered"] == 1


def test_wrong_image_shapes_are_not_applicable():
    rgb = np.zeros((10, 32, 32, 3), np.float32)
    with pytest.raises(metrics.MetricsNotApplicable, match="28x28 grey"):
        metrics.image_metrics(rgb)
    with pytest.raises(metrics.MetricsNotApplicable):
        metrics.image_metrics(np.zeros((10, 28, 28, 3), np.float32))


@pytest.mark.parametrize("images, message", [
    (np.zeros((10, 28, 28), np.float32), r"channel axis"),
    (np.zeros((10, 2), np.float32), r"shape \(N, 28, 28, 1\)"),
    (np.zeros((1, 28, 28, 1), np.float32), "at least 2"),
    (np.zeros((10, 28, 28, 1), np.uint8), "127.5"),
    (np.full((10, 28, 28, 1), 255.0, np.float32), r"in \[-1, 1\]"),
    (np.full((10, 28, 28, 1), np.nan, np.float32), "NaN"),
])
def test_bad_images_raise_clear_errors(images, message):
    with pytest.raises(metrics.MetricsError, match=message) as caught:
        metrics.image_metrics(images)
    assert not isinstance(caught.value, metrics.MetricsNotApplicable)


@pytest.mark.parametrize("labels", [np.zeros(9, int), np.full(10, 10), np.full(10, -1), np.zeros(10, float)])
def test_bad_labels_raise(digits, labels):
    with pytest.raises(metrics.MetricsError, match="labels"):
        metrics.image_metrics(digits[0][:10], labels)


def test_importing_metrics_does_not_import_tensorflow():
    # The app must start fast: TensorFlow and the classifier load on the first image metric, not at import.
    code = "import sys, playground.metrics.quality; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


# -- toy metrics -----------------------------------------------------------------------------------------------
def test_toy_metrics_on_exact_mode_samples():
    modes = ring_modes()
    scores = metrics.toy_metrics(mixture_samples(modes, RING_SD, 2000, seed=6), modes, RING_SD)
    assert scores == {"modes_covered": 8, "num_modes": 8, "high_quality_share": pytest.approx(0.989, abs=0.01)}


def test_toy_metrics_on_uniform_noise():
    modes = ring_modes()
    noise = np.random.default_rng(7).uniform(-3, 3, (2000, 2))
    scores = metrics.toy_metrics(noise, modes, RING_SD)
    assert scores["modes_covered"] == 0
    assert scores["high_quality_share"] < 0.02


def test_toy_metrics_on_one_mode():
    modes = ring_modes()
    one = mixture_samples(modes[:1], RING_SD, 1000, seed=8)
    scores = metrics.toy_metrics(one, modes, RING_SD)
    assert scores["modes_covered"] == 1
    assert scores["high_quality_share"] > 0.95


def test_a_mode_needs_a_quarter_of_its_fair_share():
    modes = ring_modes()  # K = 8: a mode needs >= 1/32 of the samples
    crowd = mixture_samples(modes[:1], RING_SD, 320, seed=9)
    few = np.repeat(modes[1:2], 9, axis=0)      # 9/329 < 1/32: not covered
    enough = np.repeat(modes[2:3], 12, axis=0)  # 12/332 > 1/32: covered
    assert metrics.toy_metrics(np.concatenate([crowd, few]), modes, RING_SD)["modes_covered"] == 1
    assert metrics.toy_metrics(np.concatenate([crowd, enough]), modes, RING_SD)["modes_covered"] == 2


@pytest.mark.parametrize("points, modes, sd, message", [
    (np.zeros((5, 3)), ring_modes(), 0.1, "points must have shape"),
    (np.zeros((5, 2)), np.zeros((0, 2)), 0.1, "modes must have shape"),
    (np.zeros((5, 2)), ring_modes(), 0.0, "sd must be a positive"),
    (np.full((5, 2), np.inf), ring_modes(), 0.1, "NaN or infinity"),
])
def test_toy_metrics_bad_inputs(points, modes, sd, message):
    with pytest.raises(metrics.MetricsError, match=message):
        metrics.toy_metrics(points, modes, sd)


# -- memorization -----------------------------------------------------------------------------------------------
def test_memorization_ratio_is_near_one_for_held_out_real(digits):
    x = digits[0]
    scores = metrics.memorization(x[:200], x[200:1200], max_n=200, max_reference=1000)
    assert 0.8 < scores["ratio"] < 1.25
    assert scores["ratio"] == pytest.approx(scores["sample_to_train"] / scores["train_to_train"])


def test_memorization_ratio_is_near_zero_for_copies(digits):
    x = digits[0]
    copies = x[200:400] + np.random.default_rng(10).normal(0, 0.01, x[200:400].shape).astype(np.float32)
    assert metrics.memorization(copies, x[200:1200], max_n=200, max_reference=1000)["ratio"] < 0.05


def test_memorization_rejects_mismatched_sizes(digits):
    with pytest.raises(metrics.MetricsError, match="differ in size"):
        metrics.memorization(np.zeros((5, 32, 32, 1)), digits[0][:50])


# -- collapse warning --------------------------------------------------------------------------------------------
def test_collapse_warning_silent_on_real_images(digits, real_scores):
    x = digits[0]
    assert metrics.collapse_warning(x[:1000], x[1000:2000], real_scores) is None


def test_collapse_warning_fires_on_one_image(digits):
    x = digits[0]
    rng = np.random.default_rng(11)
    collapsed = np.clip(np.repeat(x[:1], 300, axis=0) + rng.normal(0, 0.05, (300, 28, 28, 1)), -1, 1)
    warning = metrics.collapse_warning(collapsed, x[1000:1300])
    assert warning is not None and "varied" in warning


def test_collapse_warning_fires_on_few_classes():
    warning = metrics.collapse_warning(metrics={"fcd": 40.0, "confident_share": 0.9, "classes_covered": 2})
    assert warning is not None and "2 of 10 digit classes" in warning


def test_collapse_warning_on_toy_data():
    modes = ring_modes()
    real = mixture_samples(modes, RING_SD, 1000, seed=12)
    good = mixture_samples(modes, RING_SD, 1000, seed=13)
    assert metrics.collapse_warning(good, real, metrics.toy_metrics(good, modes, RING_SD)) is None
    two_modes = mixture_samples(modes[[0, 4]], RING_SD, 1000, seed=14)  # opposite modes: still widely spread
    warning = metrics.collapse_warning(metrics=metrics.toy_metrics(two_modes, modes, RING_SD))
    assert warning is not None and "2 of 8 modes" in warning
    one_point = np.full((500, 2), 0.3)
    assert "varied" in metrics.collapse_warning(one_point, real)


def test_collapse_warning_needs_real_with_samples(digits):
    with pytest.raises(metrics.MetricsError, match="together"):
        metrics.collapse_warning(samples=digits[0][:10])
