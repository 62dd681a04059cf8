"""The GAN as a keras.Model: compile() takes two optimizers and a loss; train_step does one D and one G update.

The trainer calls the compiled `d_step`, `g_step` and `train_step` functions directly (not `fit`), so it can
pause between steps, step D or G alone, and change learning rates or d_steps mid-run.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from playground.engine import losses

# The EMA generator averages over 10% of the steps so far (StyleGAN2-ADA's "ema_rampup"), up to 1 / (1 - decay):
# early on a long average lags behind a fast-changing G, later it smooths G's wobble (measured: docs/recipes.md).
EMA_RAMPUP = 0.1

# R1 on the first R1_BATCH reals of each batch: an unbiased estimate of its mean at a fraction of the cost of a
# second-order gradient through the whole batch (steps/s measured: docs/recipes.md).
R1_BATCH = 8


def ema_decay_at(step, max_decay: float):
    """The EMA decay after `step` generator updates: 1 - 1/(EMA_RAMPUP * step), at least 0, at most max_decay."""
    horizon = tf.maximum(1.0, EMA_RAMPUP * tf.cast(step, tf.float32))
    return tf.minimum(float(max_decay), 1.0 - 1.0 / horizon)


def translate(images, fraction=0.125):
    """DiffAugment's translation (Zhao et al. 2020): shift each image by up to `fraction` of its size, zero-padded.

    Applied to real and fake alike, so D cannot tell them apart by augmentation, and differentiable for G.
    """
    size = tf.shape(images)[1]
    pad = tf.cast(tf.cast(size, tf.float32) * fraction + 0.5, tf.int32)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], constant_values=-1.0)
    batch = tf.shape(images)[0]
    offsets = tf.random.uniform([batch, 2], 0, 2 * pad + 1, dtype=tf.int32)
    rows = tf.range(size)[None, :] + offsets[:, :1]     # (B, H)
    cols = tf.range(size)[None, :] + offsets[:, 1:]     # (B, W)
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


class GAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, num_classes=0, ema_decay=0.0, augment=False,
                 shared_fakes=False, **kwargs):
        super().__init__(**kwargs)
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

    def _critic(self, x, labels):
        x = translate(x) if self.augment else x
        return self.discriminator(self.model_inputs(x, labels), training=True)

    def _noise(self, batch):
        return tf.random.normal([batch, self.latent_dim])

    def _fakes(self, labels):
        """A batch of fakes, one per label (labels are ignored by an unconditional G, but set the batch size)."""
        return self.generator(self.model_inputs(self._noise(tf.shape(labels)[0]), labels), training=True)

    @staticmethod
    def _global_norm(grads):
        return tf.linalg.global_norm([g for g in grads if g is not None])

    # -- the steps -------------------------------------------------------------------------------
    def d_step(self, real, labels):
        """One D update on fresh fakes (the Step D button, and every D update when d_steps > 1)."""
        # 1. Generate a batch of fakes for the same labels as the real batch.
        return self._d_update(real, self._fakes(labels), labels)

    def g_step(self, labels):
        """One G update on fresh fakes (the Step G button, and the G update when d_steps > 1)."""
        with tf.GradientTape() as tape:
            g_loss = self.g_loss_fn(self._critic(self._fakes(labels), labels))
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
            fake = self._fakes(labels)
            with g_tape.stop_recording():        # D's update is not part of G's gradient
                logs = self._d_update(real, tf.stop_gradient(fake), labels)
            g_loss = self.g_loss_fn(self._critic(fake, labels))
        logs.update(self._g_update(g_tape, g_loss))
        return logs

    def _d_update(self, real, fake, labels):
        with tf.GradientTape() as tape:
            # 2. Score real and fake; the loss pushes real up and fake down.
            real_logits = self._critic(real, labels)
            fake_logits = self._critic(fake, labels)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            extra = (labels[:, None],) if self.num_classes else ()
            if self.loss_name == "wgan-gp":
                # 3. WGAN-GP keeps the critic 1-Lipschitz with a gradient penalty on interpolates.
                d_loss += self.gp_weight * losses.gradient_penalty(self.discriminator, real, fake, extra)
            if self.r1_gamma:
                # 3b. R1 keeps D flat around the real data; on R1_BATCH of the reals (see there).
                subset = tuple(e[:R1_BATCH] for e in extra)
                d_loss += 0.5 * self.r1_gamma * losses.r1_penalty(self.discriminator, real[:R1_BATCH], subset)
        # 4. Update D only.
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        return {"d_loss": d_loss,
                "d_real": tf.reduce_mean(losses.realness(real_logits, self.loss_name)),
                "d_fake": tf.reduce_mean(losses.realness(fake_logits, self.loss_name)),
                "grad_norm_d": self._global_norm(grads)}

    def _g_update(self, tape, g_loss):
        # 5. G wants D to call its fakes real: `tape` recorded G making the fakes and D scoring them.
        # 6. Update G only.
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        # 7. Move the EMA generator toward G (a smoother generator for samples), over a horizon that grows.
        if self.ema_generator is not None:
            decay = ema_decay_at(self.g_optimizer.iterations, self.ema_decay)
            for ema_w, w in zip(self.ema_generator.weights, self.generator.weights):
                ema_w.assign(decay * ema_w + (1.0 - decay) * w)
        return {"g_loss": g_loss, "grad_norm_g": self._global_norm(grads)}

    def sampling_generator(self):
        """The generator to sample from: the EMA copy when EMA is on."""
        return self.ema_generator if self.ema_generator is not None else self.generator
