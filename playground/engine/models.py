"""Generator and discriminator builders: an MLP pair for 2D data, a DCGAN pair for images, and the TF DCGAN
tutorial's pair (kept only for the side-by-side benchmark).

Only built-in Keras layers are used, so saved `.keras` files load with `safe_mode=True`. Conditional models take
`[z, label]` / `[x, label]` with integer labels of shape (B, 1); the discriminator uses a projection head
(Miyato & Koyama 2018): logit = w·h + embed(y)·h, which is cheaper and sharper than concatenating labels.
"""
from __future__ import annotations

import keras
from keras import layers

from playground.engine.config import TrainConfig

# 3x3 kernels: much faster per step than DCGAN's usual 4x4 on small CPUs, no visible loss on digits (docs/recipes.md).
KERNEL = 3
# G's batch norm updates once per training step (one generator pass per step, gan.py): 0.98 keeps the ~50-step
# horizon that 0.99 had with two passes (docs/recipes.md).
BN_MOMENTUM = 0.98
# G's first feature map is at most this wide: 64x64 images get a third upsampling stage (8 -> 16 -> 32 -> 64) and D
# a third stride-2 conv; every size up to 32 keeps the two stages it always had, so its checkpoints still load.
MAX_BASE = 8


def build_models(config: TrainConfig, data_shape: tuple, num_classes: int, synchronized: bool = False):
    """(generator, discriminator) for a resolved config; `num_classes` > 0 makes them conditional (on real
    classes, or on k-means clusters for a self-conditioned unconditional run). `synchronized`: the batch is split
    over several devices, and G's batch norm takes its statistics over the whole batch (the weights are the same)."""
    arch = config.architecture
    if arch == "mlp":
        return mlp_generator(config, num_classes), mlp_discriminator(config, num_classes)
    if arch == "dcgan":
        return (dcgan_generator(config, data_shape, num_classes, synchronized),
                dcgan_discriminator(config, data_shape, num_classes))
    if arch == "tutorial":
        return tutorial_generator(config, data_shape, synchronized), tutorial_discriminator(data_shape)
    raise ValueError(f"unknown model {arch!r}")


def upsampling_stages(size: int) -> int:
    """Stride-2 stages from G's first feature map to a `size` image: two, plus one for each halving that keeps the
    map whole while it is wider than MAX_BASE (28 -> 7 and 32 -> 8: two; 48 -> 6 and 64 -> 8: three)."""
    stages, base = 2, size // 4
    while base > MAX_BASE and base % 2 == 0:
        stages, base = stages + 1, base // 2
    return stages


def _latent_input(latent_dim, classes, embed_dim=16):
    """z input, plus (label input, z ⊕ embed(label)) for conditional models."""
    z = keras.Input((latent_dim,), name="z")
    if not classes:
        return [z], z
    label = keras.Input((1,), dtype="int32", name="label")
    embedded = layers.Flatten()(layers.Embedding(classes, embed_dim, name="label_embedding")(label))
    return [z, label], layers.Concatenate()([z, embedded])


def _normed(layer, config: TrainConfig):
    """D's weight layers, wrapped in spectral normalization when the config asks for it."""
    return layers.SpectralNormalization(layer) if config.spectral_norm else layer


def _projection_head(features, inputs, classes, config: TrainConfig):
    """Unconditional: a dense logit. Conditional: dense logit + embed(label)·features."""
    logit = _normed(layers.Dense(1, name="logit"), config)(features)
    if not classes:
        return logit
    label = keras.Input((1,), dtype="int32", name="label")
    inputs.append(label)
    embedded = layers.Flatten()(layers.Embedding(classes, features.shape[-1], name="projection")(label))
    return layers.Add()([logit, layers.Dot(axes=1)([embedded, features])])


def mlp_generator(config: TrainConfig, classes: int = 0) -> keras.Model:
    inputs, h = _latent_input(config.latent_dim, classes)
    for _ in range(3):
        h = layers.Dense(config.width, activation="relu")(h)
    out = layers.Dense(2, name="points")(h)
    return keras.Model(inputs, out, name="generator")


def mlp_discriminator(config: TrainConfig, classes: int = 0) -> keras.Model:
    x = keras.Input((2,), name="points")
    inputs = [x]
    h = x
    for _ in range(3):
        h = layers.LeakyReLU(0.2)(_normed(layers.Dense(config.width), config)(h))
    out = _projection_head(h, inputs, classes, config)
    return keras.Model(inputs if classes else x, out, name="discriminator")


def dcgan_generator(config: TrainConfig, data_shape: tuple, classes: int = 0, synchronized=False) -> keras.Model:
    """z → dense map (size / 2^stages) → stride-2 transposed convs, halving the channels each → tanh image."""
    size, _, channels = data_shape
    stages, width = upsampling_stages(size), config.width
    base, filters = size // 2 ** stages, width * 2 ** (stages - 1)
    inputs, h = _latent_input(config.latent_dim, classes)
    h = layers.Dense(base * base * filters, use_bias=False)(h)
    h = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM, synchronized=synchronized)(h))
    h = layers.Reshape((base, base, filters))(h)
    for _ in range(stages - 1):
        filters //= 2
        h = layers.Conv2DTranspose(filters, KERNEL, strides=2, padding="same", use_bias=False)(h)
        h = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM, synchronized=synchronized)(h))
    out = layers.Conv2DTranspose(channels, KERNEL, strides=2, padding="same", activation="tanh", name="image")(h)
    return keras.Model(inputs, out, name="generator")


def dcgan_discriminator(config: TrainConfig, data_shape: tuple, classes: int = 0) -> keras.Model:
    x = keras.Input(data_shape, name="image")
    inputs = [x]
    width, h = config.width, x
    for stage in range(upsampling_stages(data_shape[0])):      # mirrors G: one stride-2 conv per stage
        h = layers.LeakyReLU(0.2)(_normed(layers.Conv2D(width * 2 ** stage, KERNEL, strides=2, padding="same"),
                                          config)(h))
    h = layers.Flatten()(h)
    # A dense feature layer before the logit lowered digits' FCD (docs/recipes.md): config.d_features units in a
    # conditional (or self-conditioned) D, width * 4 in an unconditional one.
    units = config.d_features if classes else width * 4
    if units:
        h = layers.LeakyReLU(0.2)(_normed(layers.Dense(units, name="features"), config)(h))
    out = _projection_head(h, inputs, classes, config)
    return keras.Model(inputs if classes else x, out, name="discriminator")


def tutorial_generator(config: TrainConfig, data_shape: tuple, synchronized=False) -> keras.Model:
    """The generator of the TensorFlow DCGAN tutorial (2.3M parameters for 28×28)."""
    size, _, channels = data_shape
    base = size // 4
    z = keras.Input((config.latent_dim,), name="z")
    h = layers.Dense(base * base * 256, use_bias=False)(z)
    h = layers.LeakyReLU()(layers.BatchNormalization(synchronized=synchronized)(h))
    h = layers.Reshape((base, base, 256))(h)
    for filters, stride in ((128, 1), (64, 2)):
        h = layers.Conv2DTranspose(filters, 5, strides=stride, padding="same", use_bias=False)(h)
        h = layers.LeakyReLU()(layers.BatchNormalization(synchronized=synchronized)(h))
    out = layers.Conv2DTranspose(channels, 5, strides=2, padding="same", use_bias=False, activation="tanh")(h)
    return keras.Model(z, out, name="generator")


def tutorial_discriminator(data_shape: tuple) -> keras.Model:
    x = keras.Input(data_shape, name="image")
    h = x
    for filters in (64, 128):
        h = layers.Conv2D(filters, 5, strides=2, padding="same")(h)
        h = layers.Dropout(0.3)(layers.LeakyReLU()(h))
    out = layers.Dense(1)(layers.Flatten()(h))
    return keras.Model(x, out, name="discriminator")
