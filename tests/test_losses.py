import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from playground.engine import losses


def t(values):
    return tf.constant(values, tf.float32)


def mean_of(per_example):
    return float(tf.reduce_mean(per_example))


def test_standard_loss_known_values():
    # D undecided (logit 0) on both: -log(1/2) twice.
    assert mean_of(losses.standard_d(t([0.0]), t([0.0]))) == pytest.approx(2 * math.log(2), rel=1e-6)
    # Non-saturating G loss: -log sigmoid(f).
    assert mean_of(losses.standard_g(t([0.0]))) == pytest.approx(math.log(2), rel=1e-6)
    assert mean_of(losses.standard_g(t([2.0]))) == pytest.approx(-math.log(1 / (1 + math.exp(-2))), rel=1e-6)
    # A confident, correct D has a near-zero loss.
    assert mean_of(losses.standard_d(t([20.0]), t([-20.0]))) < 1e-8


def test_lsgan_known_values():
    assert mean_of(losses.lsgan_d(t([1.0]), t([0.0]))) == pytest.approx(0.0)
    assert mean_of(losses.lsgan_d(t([0.0]), t([1.0]))) == pytest.approx(1.0)
    assert mean_of(losses.lsgan_g(t([0.0, 1.0]))) == pytest.approx(0.25)


def test_wgan_and_hinge_known_values():
    assert mean_of(losses.wgan_d(t([1.0, 3.0]), t([0.0]))) == pytest.approx(-2.0)
    assert mean_of(losses.wgan_g(t([1.0, 3.0]))) == pytest.approx(-2.0)
    assert mean_of(losses.hinge_d(t([1.0]), t([-1.0]))) == pytest.approx(0.0)
    assert mean_of(losses.hinge_d(t([0.0]), t([0.0]))) == pytest.approx(2.0)
    assert mean_of(losses.hinge_d(t([3.0]), t([0.5]))) == pytest.approx(1.5)
    assert mean_of(losses.hinge_g(t([2.0, 4.0]))) == pytest.approx(-3.0)


@pytest.mark.parametrize("norm, expected", [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)])
def test_gradient_penalty_of_linear_critic(norm, expected):
    # f(x) = w.x has gradient w everywhere, so the penalty is (|w| - 1)^2 exactly.
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(np.array([[norm * 0.6], [norm * 0.8]], np.float32))
    real = tf.random.stateless_normal([16, 2], seed=[1, 2])
    fake = tf.random.stateless_normal([16, 2], seed=[3, 4])
    alpha = tf.random.stateless_uniform([16, 1], seed=[5, 6])
    penalties = losses.gradient_penalty(critic, real, fake, alpha)
    assert penalties.shape == (16,) and np.allclose(penalties.numpy(), expected, atol=1e-5)


def test_r1_penalty_of_known_critics():
    # A linear critic has gradient w at every point: R1 = |w|^2. A quadratic one, sum(x^2), has gradient 2x:
    # R1 = mean of 4|x|^2.
    linear = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    linear.layers[0].kernel.assign(np.array([[0.6], [1.6]], np.float32))
    real = tf.random.stateless_normal([16, 2], seed=[5, 6])
    assert mean_of(losses.r1_penalty(linear, real)) == pytest.approx(0.36 + 2.56, rel=1e-5)
    quadratic = lambda x, training: tf.reduce_sum(tf.square(x), axis=1, keepdims=True)  # noqa: E731
    expected = float(tf.reduce_mean(4.0 * tf.reduce_sum(tf.square(real), axis=1)))
    assert mean_of(losses.r1_penalty(quadratic, real)) == pytest.approx(expected, rel=1e-5)


def test_realness_maps_to_unit_interval():
    logits = t([-100.0, 0.0, 100.0])
    assert np.allclose(losses.realness(logits, "standard").numpy(), [0.0, 0.5, 1.0])
    assert np.allclose(losses.realness(t([-0.5, 0.3, 2.0]), "lsgan").numpy(), [0.0, 0.3, 1.0])


def test_unknown_loss_is_rejected_with_choices():
    with pytest.raises(ValueError, match="hinge"):
        losses.get_loss("nope")
