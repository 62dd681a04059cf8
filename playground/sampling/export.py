"""A generator exported for the page: its layers as a short list of steps with float32 weights, plus the facts the
page needs to turn sliders into pictures (latent size, classes, output scale, PCA directions, base z per seed).

The page (playground/web/static/explore.js) runs the steps with TensorFlow.js ops. Batch norm is exported in
inference mode as a per-channel affine step (x * scale + shift), the same arithmetic Keras uses at inference.
numpy's seed → z generator (PCG64 + ziggurat) is not ported to the page: it gets the base z of seeds
0..SEEDS-1 instead, and the page offers exactly those seeds.
"""
from __future__ import annotations

import base64
import functools

import numpy as np

from playground.sampling import latent

SEEDS = 1000          # the page offers seeds 0..SEEDS-1 and receives their base z
ANCHOR_SEED = 12345   # the cloud of samples behind a 2D generator's current point
CLOUD_SIZE = 1000
_ACTIVATIONS = {"linear": None, "relu": "relu", "tanh": "tanh"}


class UnsupportedModel(ValueError):
    """A layer the page cannot run: the Explore tab falls back to rendering on the server."""


def encode(array) -> dict:
    """float32 little-endian bytes in base64, with the shape: what the page turns into a tensor."""
    array = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode(blob: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(blob["data"]), dtype="<f4").reshape(blob["shape"])


def generator_steps(model, weights: list | None = None) -> list[dict]:
    """The model's layers in order as page steps (embed, dense, affine, relu, leaky_relu, reshape, conv_t).
    `weights` (model.get_weights() order) replaces the model's own: no model copy per live refresh."""
    steps, remaining = [], list(model.get_weights() if weights is None else weights)
    for layer in model.layers:
        kind = type(layer).__name__
        weights, remaining = remaining[:len(layer.weights)], remaining[len(layer.weights):]
        if kind in ("InputLayer", "Flatten", "Concatenate"):
            continue                      # the embed step concatenates z and the label's row itself
        if kind == "Embedding":
            steps.append({"op": "embed", "table": encode(weights[0])})
        elif kind == "Dense":
            steps.append({"op": "dense", "kernel": encode(weights[0]), **_bias_and_activation(layer, weights)})
        elif kind == "Conv2DTranspose":
            _check_conv(layer)
            steps.append({"op": "conv_t", "kernel": encode(weights[0]), "strides": list(layer.strides),
                          **_bias_and_activation(layer, weights)})
        elif kind == "BatchNormalization":
            steps.append(_affine(layer, weights))
        elif kind == "ReLU" and layer.max_value is None and not layer.negative_slope and not layer.threshold:
            steps.append({"op": "relu"})
        elif kind == "LeakyReLU":
            steps.append({"op": "leaky_relu", "alpha": float(layer.negative_slope)})
        elif kind == "Reshape":
            steps.append({"op": "reshape", "shape": list(layer.target_shape)})
        else:
            raise UnsupportedModel(f"the page cannot run a {kind} layer; rendering stays on the server")
    return steps


def _bias_and_activation(layer, weights) -> dict:
    name = getattr(layer.activation, "__name__", str(layer.activation))
    if name not in _ACTIVATIONS:
        raise UnsupportedModel(f"the page cannot run the {name!r} activation; rendering stays on the server")
    return {"bias": encode(weights[1]) if layer.use_bias else None, "activation": _ACTIVATIONS[name]}


def _check_conv(layer):
    if layer.padding != "same" or tuple(layer.dilation_rate) != (1, 1) or layer.output_padding is not None:
        raise UnsupportedModel("the page runs only 'same'-padded transposed convolutions; rendering stays on the "
                               "server")


def _affine(layer, weights) -> dict:
    """Batch norm at inference: gamma * (x - mean) / sqrt(var + eps) + beta, as one scale and shift."""
    named = dict(zip([w.name for w in layer.weights], weights))
    mean, variance = named["moving_mean"], named["moving_variance"]
    scale = 1.0 / np.sqrt(variance + np.float32(layer.epsilon))
    if layer.scale:
        scale = scale * named["gamma"]
    shift = -mean * scale + (named["beta"] if layer.center else 0.0)
    return {"op": "affine", "scale": encode(scale), "shift": encode(shift)}


@functools.lru_cache(maxsize=8)
def seed_table(latent_dim: int) -> dict:
    """(SEEDS, latent_dim): row s is latent.z_from_seed(s, latent_dim), the base z of seed s."""
    return encode(np.concatenate([latent.z_from_seed(seed, latent_dim) for seed in range(SEEDS)]))


@functools.lru_cache(maxsize=8)
def anchor_cloud(latent_dim: int) -> dict:
    return encode(latent.z_from_seed(ANCHOR_SEED, latent_dim, CLOUD_SIZE))


def export_generator(sampler, directions: dict, real_points=None, key: str = "") -> dict:
    """Everything the page needs to render `sampler` on its own. `directions` maps a class (or None) to
    (directions, shares) from latent.pca_directions_and_shares; `real_points` is a 2D run's training data;
    `key` tells the page whether a payload is new (source and weight version)."""
    payload = {
        "key": key, "kind": sampler.kind, "latent_dim": sampler.latent_dim, "num_classes": sampler.num_classes,
        "label_kind": sampler.label_kind, "scale": float(sampler.scale), "output_shape": list(sampler.output_shape),
        "steps": generator_steps(sampler.template, sampler.weights()), "seeds": seed_table(sampler.latent_dim),
        "directions": {"none" if label is None else str(label): {"vectors": encode(vectors), "shares": [
            round(float(share), 4) for share in shares]} for label, (vectors, shares) in directions.items()},
    }
    if sampler.kind == "toy":
        payload["anchor"] = anchor_cloud(sampler.latent_dim)
        payload["real"] = None if real_points is None else encode(real_points)
    return payload


def page_directions(sampler, k: int, n_samples: int = 500) -> dict:
    """{class or None: (directions, shares)} for every class, from one batch of generator outputs (one class
    at a time was ~10x slower for digits: a padded generator call per class)."""
    labels = list(range(sampler.num_classes)) or [None]
    k = min(k, sampler.latent_dim, int(np.prod(sampler.output_shape)))
    n = max(n_samples, sampler.latent_dim + 1)
    z = latent.z_from_seed(0, sampler.latent_dim, n)    # pca_directions_and_shares draws this same z (seed 0)
    classes = None if labels == [None] else np.repeat(np.arange(len(labels)), n)
    outputs = sampler.generate(np.tile(z, (len(labels), 1)), classes).reshape(len(labels), n, -1)
    return {label: latent.pca_directions_and_shares(lambda batch, _, out=outputs[i]: out[:len(batch)],
                                                    sampler.latent_dim, k, n, labels=label, batch_size=n)
            for i, label in enumerate(labels)}
