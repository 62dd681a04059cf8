"""A thread-safe generator for the UI and the CLI: its own copy of the generator's weights, a compiled forward
pass, and the facts needed to read its output (data scale, classes). Training never touches this copy; the
trainer refreshes it between steps, so dragging a slider never races a training step.

The forward pass is compiled with XLA. A plain tf.function runs its ops on TensorFlow's shared inter-op threads,
which running trainings keep busy, so a slider render queued behind their steps; an XLA program runs in the
caller's thread (measured: docs/performance.md). XLA compiles once per input shape, so batches are padded up to a
few fixed sizes.

TensorFlow keeps every compiled XLA program for the life of the process, so compiling a fresh program for every
run leaked memory run after run. Samplers of the same architecture therefore
share a small pool of `Renderer`s (at most RENDERERS_PER_ARCHITECTURE, so one session's metrics do not hold up
another's slider): compiled models into which each sampler loads its own weights when it renders.
"""
from __future__ import annotations

import contextlib
import json
import threading

import keras
import numpy as np
import tensorflow as tf

BATCH_BUCKETS = (1, 64, 1024)     # every batch is padded up to one of these (bigger ones go in 1024s)
RENDERERS_PER_ARCHITECTURE = 3    # bounds the compiled programs kept per architecture (and so the memory)


def architecture_key(model: keras.Model) -> str:
    """The model's config with its layers' names replaced by their positions: equal for two builds of the same
    architecture (Keras numbers auto-named layers differently each time), different for anything else."""
    text = json.dumps(model.get_config(), sort_keys=True)
    for index, layer in enumerate(sorted(model.layers, key=lambda layer: -len(layer.name))):
        text = text.replace(json.dumps(layer.name), json.dumps(f"#layer{index}"))
    return text


class Renderer:
    """One XLA-compiled copy of a generator architecture. Its pool hands it to one caller at a time."""

    def __init__(self, generator: keras.Model, latent_dim: int, num_classes: int):
        self.model = keras.models.clone_model(generator)
        self.lock = threading.Lock()
        self.loaded = None                    # (sampler token, version) whose weights are in the model now
        signature = [tf.TensorSpec([None, latent_dim], tf.float32)]
        if num_classes:
            signature.append(tf.TensorSpec([None, 1], tf.int32))
        # A fixed signature with a free batch size: one trace; XLA then compiles one program per bucket.
        self.forward = tf.function(lambda *xs: self.model(list(xs) if num_classes else xs[0], training=False),
                                   input_signature=signature, jit_compile=True)

    def load(self, token, version: int, weights: list) -> None:
        if self.loaded is None or self.loaded[0] is not token or self.loaded[1] != version:
            self.model.set_weights(weights)
            self.loaded = (token, version)

    def padded_forward(self, args: list) -> np.ndarray:
        """The generator on one batch, padded up to the next bucket so XLA reuses a compiled program."""
        n = len(args[0])
        bucket = next(b for b in BATCH_BUCKETS if b >= n)
        padded = [np.concatenate([a, np.zeros((bucket - n, *a.shape[1:]), a.dtype)]) for a in args]
        return self.forward(*padded).numpy()[:n]


class RendererPool:
    """The renderers of one architecture, created on demand up to RENDERERS_PER_ARCHITECTURE."""

    def __init__(self, generator: keras.Model, latent_dim: int, num_classes: int):
        self.template = keras.models.clone_model(generator)
        self._shape = (latent_dim, num_classes)
        self.renderers: list[Renderer] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def acquire(self, token):
        """A renderer for this caller's exclusive use: the one already holding its weights if free, else any free
        one, else a new one (within the limit), else wait for the one holding its weights or the first."""
        with self._lock:
            mine = [r for r in self.renderers if r.loaded is not None and r.loaded[0] is token]
            chosen = next((r for r in mine + self.renderers if r.lock.acquire(blocking=False)), None)
            if chosen is None and len(self.renderers) < RENDERERS_PER_ARCHITECTURE:
                chosen = Renderer(self.template, *self._shape)
                chosen.lock.acquire()
                self.renderers.append(chosen)
            busy = None if chosen is not None else (mine + self.renderers)[0]
        if busy is not None:                      # wait outside the pool's lock
            busy.lock.acquire()
            chosen = busy
        try:
            yield chosen
        finally:
            chosen.lock.release()


_pools: dict[tuple, RendererPool] = {}
_pools_lock = threading.Lock()


def pool_for(generator: keras.Model, latent_dim: int, num_classes: int) -> RendererPool:
    key = (architecture_key(generator), latent_dim, num_classes)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = RendererPool(generator, latent_dim, num_classes)
        return _pools[key]


class Sampler:
    def __init__(self, generator: keras.Model, latent_dim: int, num_classes: int, kind: str, scale: float = 1.0,
                 label_kind: str = "class"):
        self._pool = pool_for(generator, latent_dim, num_classes)
        self._weights = generator.get_weights()      # numpy copies: training never touches them
        self._token = object()                     # identifies this sampler's weights inside the shared renderer
        self.latent_dim = latent_dim
        self.num_classes = num_classes        # 0: unconditional
        self.label_kind = label_kind          # "class", or "cluster" for a self-conditioned run's k-means groups
        self.kind = kind                      # "toy" or "image"
        self.scale = scale
        self.version = 0                      # bumps on every weight refresh
        self._lock = threading.Lock()         # guards _weights and version

    @property
    def template(self) -> keras.Model:
        """The architecture (its own weights are not this sampler's: pair it with weights())."""
        return self._pool.template

    @property
    def output_shape(self) -> tuple:
        return tuple(self._pool.template.output_shape[1:])

    def update_weights(self, weights: list) -> None:
        with self._lock:
            self._weights = list(weights)
            self.version += 1

    def generate(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Images (N, H, W, C) in [-1, 1], or 2D points (N, 2) in the dataset's own coordinates."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {z.shape}")
        args = [z]
        if self.num_classes:
            if labels is None:
                raise ValueError(f"this generator is conditional: pass one class (0..{self.num_classes - 1}) per z")
            labels = np.asarray(labels, np.int32).reshape(-1)
            if labels.shape != (len(z),) or labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(f"labels must be {len(z)} class numbers in 0..{self.num_classes - 1}")
            args.append(labels[:, None])
        if not len(z):
            return self._empty()
        with self._pool.acquire(self._token) as renderer:
            with self._lock:
                renderer.load(self._token, self.version, self._weights)
            out = np.concatenate([renderer.padded_forward([a[i:i + BATCH_BUCKETS[-1]] for a in args])
                                  for i in range(0, len(z), BATCH_BUCKETS[-1])])
        return out * self.scale if self.kind == "toy" else out

    def compile_render(self) -> None:
        """Compile the one-sample program now (a new model's first slider drag would otherwise wait ~1 s)."""
        self.generate(np.zeros((1, self.latent_dim), np.float32), [0] if self.num_classes else None)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, *self.output_shape), np.float32)

    def weights(self) -> list:
        with self._lock:
            return list(self._weights)

    def model(self) -> keras.Model:
        """A fresh Keras generator holding this sampler's weights (to call directly or save)."""
        model = keras.models.clone_model(self._pool.template)
        model.set_weights(self.weights())
        return model
