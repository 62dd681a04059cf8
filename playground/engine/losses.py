"""GAN losses as pure functions of discriminator outputs (logits), per example: the caller averages them over
the global batch (`tf.nn.compute_average_loss`, so that a batch split over devices averages the same way).

All take raw discriminator outputs, never probabilities, so the sigmoid is fused into a stable softplus.
WGAN-GP's gradient penalty needs the discriminator itself, so it lives in `gradient_penalty` below.
"""
from __future__ import annotations

import tensorflow as tf


def standard_d(real, fake):
    # -log D(x) - log(1 - D(G(z))), with D = sigmoid(logit): softplus(-r) + softplus(f)
    return tf.nn.softplus(-real) + tf.nn.softplus(fake)


def standard_g(fake):
    # Non-saturating generator loss: -log D(G(z)) (Goodfellow et al. 2014, sec. 3)
    return tf.nn.softplus(-fake)


def lsgan_d(real, fake):
    return 0.5 * tf.square(real - 1.0) + 0.5 * tf.square(fake)


def lsgan_g(fake):
    return 0.5 * tf.square(fake - 1.0)


def wgan_d(real, fake):
    return fake - real


def wgan_g(fake):
    return -fake


def hinge_d(real, fake):
    return tf.nn.relu(1.0 - real) + tf.nn.relu(1.0 + fake)


def hinge_g(fake):
    return -fake


LOSS_FUNCTIONS = {
    "standard": (standard_d, standard_g),
    "lsgan": (lsgan_d, lsgan_g),
    "wgan-gp": (wgan_d, wgan_g),
    "hinge": (hinge_d, hinge_g),
}


def get_loss(name: str):
    """(d_loss_fn, g_loss_fn) for a loss name."""
    if name not in LOSS_FUNCTIONS:
        raise ValueError(f"loss must be one of {sorted(LOSS_FUNCTIONS)}, got {name!r}")
    return LOSS_FUNCTIONS[name]


def realness(logits, loss: str):
    """Map D's raw output to a [0, 1] "how real" score for plots: D(real), D(fake) and the 2D heatmap.

    For the standard loss this is D's probability; LSGAN's targets are 0/1 so its output is clipped; WGAN and
    hinge critics are unbounded, so a sigmoid gives a monotone view (0.5 = undecided).
    """
    if loss == "lsgan":
        return tf.clip_by_value(logits, 0.0, 1.0)
    return tf.sigmoid(logits)


def gradient_penalty(critic, real, fake, alpha, extra_inputs=()):
    """WGAN-GP: (||grad critic(x_hat)|| - 1)^2 per example, on the interpolates x_hat = real + alpha (fake - real)
    with alpha uniform in [0, 1] per example (Gulrajani et al. 2017)."""
    mixed = real + alpha * (fake - real)
    norms = tf.sqrt(_squared_input_gradient_norms(critic, mixed, extra_inputs) + 1e-12)
    return tf.square(norms - 1.0)


def r1_penalty(critic, real, extra_inputs=()):
    """R1 (Mescheder et al. 2018): ||grad critic(x)||^2 per real example. Penalizing its mean keeps D flat
    around the training data, so D cannot sharpen around a small dataset's images as training goes on."""
    return _squared_input_gradient_norms(critic, real, extra_inputs)


def _squared_input_gradient_norms(critic, x, extra_inputs):
    """||grad critic(x_i)||^2 for each example x_i (each example's score depends on that example alone)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = critic([x, *extra_inputs] if extra_inputs else x, training=True)
    grads = tape.gradient(scores, x)
    return tf.reduce_sum(tf.square(tf.reshape(grads, [tf.shape(grads)[0], -1])), axis=1)
