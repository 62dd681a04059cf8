"""The GAN as a keras.Model: compile() takes two optimizers and a loss; train_step does one D and one G update.

The trainer calls the compiled `d_step`, `g_step` and `train_step` functions directly (not `fit`), so it can
pause between steps, step D or G alone, and change learning rates or d_steps mid-run.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from playground.engine import losses, replicas

# The EMA generator averages over 10% of the steps so far (StyleGAN2-ADA's "ema_rampup"), up to 1 / (1 - decay):
# early on a long average lags behind a fast-changing G, later it smooths G's wobble (measured: docs/recipes.md).
EMA_RAMPUP = 0.1

# R1 on R1_BATCH reals of each batch (every k-th, so a batch split over replicas penalizes the same ones):
# an unbiased estimate of its mean at a fraction of the cost of a second-order gradient through the whole
# batch (steps/s measured: docs/recipes.md).
R1_BATCH = 8

# Every per-example random draw is stateless, seeded by (run seed, updates so far * 8 + purpose), and made for the
# global batch (replicas.own_rows): one device and N devices draw the same numbers, and a resumed run continues
# the stream its optimizers' step counts say it reached.
FAKES_D, FAKES_G, INTERPOLATION, SHIFT_REAL, SHIFT_FAKE_D, SHIFT_FAKE_G = range(6)


def ema_decay_at(step, max_decay: float):
    """The EMA decay after `step` generator updates: 1 - 1/(EMA_RAMPUP * step), at least 0, at most max_decay."""
    horizon = tf.maximum(1.0, EMA_RAMPUP * tf.cast(step, tf.float32))
    return tf.minimum(float(max_decay), 1.0 - 1.0 / horizon)


def translate(images, seed, fraction=0.125):
    """DiffAugment's translation (Zhao et al. 2020): shift each image by up to `fraction` of its size, zero-padded.

    Applied to real and fake alike, so D cannot tell them apart by augmentation, and differentiable for G.
    """
    size = tf.shape(images)[1]
    pad = tf.cast(tf.cast(size, tf.float32) * fraction + 0.5, tf.int32)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], constant_values=-1.0)
    batch = tf.shape(images)[0]
    offsets = replicas.own_rows(lambda shape, key: tf.random.stateless_uniform(shape, key, 0, 2 * pad + 1, tf.int32),
                                batch, (2,), seed)
    rows = tf.range(size)[None, :] + offsets[:, :1]     # (B, H)
    cols = tf.range(size)[None, :] + offsets[:, 1:]     # (B, W)
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


class GAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, num_classes=0, ema_decay=0.0, augment=False,
                 shared_fakes=False, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.shared_fakes = shared_fakes     # train_step: one batch of fakes for both updates (see there)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.augment = augment
        self.ema_decay = ema_decay
        self.ema_generator = keras.models.clone_model(generator) if ema_decay > 0 else None
        if self.ema_generator is not None:
            self.ema_generator.set_weights(generator.get_weights())

    def compile(self, d_optimizer, g_optimizer, loss="standard", gp_weight=10.0, r1_gamma=0.0):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.loss_name = loss
        self.d_loss_fn, self.g_loss_fn = losses.get_loss(loss)
        self.gp_weight = gp_weight
        self.r1_gamma = r1_gamma
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    # -- helpers ---------------------------------------------------------------------------------
    def model_inputs(self, main, labels):
        """A model's input: `main` (z or x) alone, or with its labels for conditional models."""
        return [main, labels[:, None]] if self.num_classes else main

    def _seed(self, optimizer, purpose):
        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(optimizer.iterations, tf.int64) * 8 + purpose])

    def _critic(self, x, labels, shift_seed):
        x = translate(x, shift_seed) if self.augment else x
        return self.discriminator(self.model_inputs(x, labels), training=True)

    def _noise(self, batch, seed):
        return replicas.own_rows(tf.random.stateless_normal, batch, (self.latent_dim,), seed)

    def _fakes(self, labels, seed):
        """A batch of fakes, one per label (labels are ignored by an unconditional G, but set the batch size)."""
        return self.generator(self.model_inputs(self._noise(tf.shape(labels)[0], seed), labels), training=True)

    def _g_loss(self, fake, labels):
        scores = self._critic(fake, labels, self._seed(self.g_optimizer, SHIFT_FAKE_G))
        return tf.nn.compute_average_loss(self.g_loss_fn(scores))

    @staticmethod
    def _global_norm(grads):
        return tf.linalg.global_norm([g for g in grads if g is not None])

    @staticmethod
    def _global_mean(per_example):
        return replicas.total(tf.nn.compute_average_loss(per_example))

    # -- the steps -------------------------------------------------------------------------------
    def d_step(self, real, labels):
        """One D update on fresh fakes (the Step D button, and every D update when d_steps > 1)."""
        # 1. Generate a batch of fakes for the same labels as the real batch.
        return self._d_update(real, self._fakes(labels, self._seed(self.d_optimizer, FAKES_D)), labels)

    def g_step(self, labels):
        """One G update on fresh fakes (the Step G button, and the G update when d_steps > 1)."""
        with tf.GradientTape() as tape:
            g_loss = self._g_loss(self._fakes(labels, self._seed(self.g_optimizer, FAKES_G)), labels)
        return self._g_update(tape, g_loss)

    def train_step(self, data):
        """One D update, then one G update through the updated D.

        With shared_fakes, both updates use one batch of fakes (as PyTorch's DCGAN example does): one generator
        pass per step instead of two, faster for images; the toys' cheap MLP keeps fresh fakes for G, which held
        the grid's modes (docs/recipes.md).
        """
        real, labels = data
        if not self.shared_fakes:
            logs = self.d_step(real, labels)
            logs.update(self.g_step(labels))
            return logs
        with tf.GradientTape() as g_tape:
            fake = self._fakes(labels, self._seed(self.d_optimizer, FAKES_D))
            with g_tape.stop_recording():        # D's update is not part of G's gradient
                logs = self._d_update(real, tf.stop_gradient(fake), labels)
            g_loss = self._g_loss(fake, labels)
        logs.update(self._g_update(g_tape, g_loss))
        return logs

    def _d_update(self, real, fake, labels):
        with tf.GradientTape() as tape:
            # 2. Score real and fake; the loss pushes real up and fake down.
            real_logits = self._critic(real, labels, self._seed(self.d_optimizer, SHIFT_REAL))
            fake_logits = self._critic(fake, labels, self._seed(self.d_optimizer, SHIFT_FAKE_D))
            # Each replica's share of the global batch's mean loss (replicas.py).
            d_loss = tf.nn.compute_average_loss(self.d_loss_fn(real_logits, fake_logits))
            extra = (labels[:, None],) if self.num_classes else ()
            if self.loss_name == "wgan-gp":
                # 3. WGAN-GP keeps the critic 1-Lipschitz with a gradient penalty on interpolates.
                alpha = replicas.own_rows(tf.random.stateless_uniform, tf.shape(real)[0], [1] * (len(real.shape) - 1),
                                          self._seed(self.d_optimizer, INTERPOLATION))
                d_loss += self.gp_weight * tf.nn.compute_average_loss(
                    losses.gradient_penalty(self.discriminator, real, fake, alpha, extra))
            if self.r1_gamma:
                # 3b. R1 keeps D flat around the real data; on R1_BATCH of the reals (see there), every k-th of the
                # global batch, so that a batch split over replicas penalizes the same examples.
                every = tf.maximum(1, tf.shape(real)[0] * replicas.count() // R1_BATCH)
                subset = tuple(e[::every] for e in extra)
                d_loss += 0.5 * self.r1_gamma * tf.nn.compute_average_loss(
                    losses.r1_penalty(self.discriminator, real[::every], subset))
        # 4. Update D only, with the gradient summed over replicas.
        grads = replicas.total(tape.gradient(d_loss, self.discriminator.trainable_variables))
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        return {"d_loss": replicas.total(d_loss),
                "d_real": self._global_mean(losses.realness(real_logits, self.loss_name)),
                "d_fake": self._global_mean(losses.realness(fake_logits, self.loss_name)),
                "grad_norm_d": self._global_norm(grads)}

    def _g_update(self, tape, g_loss):
        # 5. G wants D to call its fakes real: `tape` recorded G making the fakes and D scoring them.
        # 6. Update G only.
        grads = replicas.total(tape.gradient(g_loss, self.generator.trainable_variables))
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        # 7. Move the EMA generator toward G (a smoother generator for samples), over a horizon that grows.
        if self.ema_generator is not None:
            decay = ema_decay_at(self.g_optimizer.iterations, self.ema_decay)
            replicas.move_toward(self.ema_generator.weights, self.generator.weights, decay)
        return {"g_loss": replicas.total(g_loss), "grad_norm_g": self._global_norm(grads)}

    def sampling_generator(self):
        """The generator to sample from: the EMA copy when EMA is on."""
        return self.ema_generator if self.ema_generator is not None else self.generator
