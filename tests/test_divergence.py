"""metrics/divergence.py: the histogram Jensen–Shannon estimate, with known answers."""
import math

import numpy as np
import pytest

from playground.metrics.divergence import JS_MAX, DivergenceError, js_divergence


def cloud(seed, n=1000, centre=(0.0, 0.0)):
    return np.random.default_rng(seed).normal(size=(n, 2)) * 0.3 + np.asarray(centre)


def test_identical_samples_are_zero_apart():
    points = cloud(0)
    assert js_divergence(points, points) == pytest.approx(0.0, abs=1e-12)


def test_disjoint_samples_are_log_2_apart_inside_and_outside_the_grid():
    left = cloud(0, centre=(-3.0, 0.0))
    right = cloud(1, centre=(3.0, 0.0))
    both = np.concatenate([left, right])
    assert JS_MAX == pytest.approx(math.log(2))
    # Real points span both clusters, fakes only one: disjoint halves of one grid, half the mass overlaps nowhere.
    assert js_divergence(left, left + 100.0) == pytest.approx(math.log(2))     # flung far outside the grid
    assert js_divergence(left, right, bins=24) == pytest.approx(math.log(2))   # right lands in the outside cell
    assert 0.1 < js_divergence(both, right) < math.log(2)                      # half overlaps


def test_closer_distributions_score_lower():
    real = cloud(0)
    near, far = cloud(1, centre=(0.1, 0.0)), cloud(2, centre=(0.6, 0.0))
    assert js_divergence(real, near) < js_divergence(real, far) < math.log(2)


def test_bad_samples_say_what_is_wrong():
    with pytest.raises(DivergenceError, match=r"shape \(N, 2\)"):
        js_divergence(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(DivergenceError, match="NaN"):
        js_divergence(np.full((5, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(DivergenceError, match="bins"):
        js_divergence(cloud(0), cloud(1), bins=0)
