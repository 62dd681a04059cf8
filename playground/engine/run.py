"""One training run's machinery: data, models, optimizers, compiled steps, fixed noise, and the probes the
snapshot needs, and `train_for`: the one training loop that the web trainer, the CLI and the bench all use.
It knows nothing about threads; `Trainer` drives it and guards it with a lock.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from playground.data import datasets
from playground.engine import devices, losses
from playground.engine.config import TrainConfig
from playground.data.distances import squared_distances
from playground.engine.gan import GAN
from playground.engine.models import build_models
from playground.sampling.sampler import Sampler
from playground.training.snapshot import ToyView, frozen_array

TOY_SAMPLES = 512      # points drawn in the 2D view
TOY_GRID = 48          # heatmap resolution of the 2D view
LIVE_FIELDS = ("lr_g", "lr_d", "d_steps")   # what may change while a run trains
CHUNK_MAX = 32
# Free running batches steps into compiled calls of about this long: each call has a fixed overhead, and pause
# still answers within one chunk (measured: docs/performance.md).
CHUNK_SECONDS = 0.2
# The NaN guard's copy of every weight and optimizer slot is refreshed this often, not at every publish: reading
# them all costs the server's GIL time (docs/performance.md).
GOOD_STATE_SECONDS = 5.0
MANIFOLD_GRID = 13     # latent points per side of the manifold mesh
MANIFOLD_EXTENT = 2.0  # the mesh spans z in [-2, 2] on the first two latent dimensions (~95% of each)


class SingleDeviceAdam(keras.optimizers.Adam):
    """Adam without its own cross-replica gradient sum: the GAN sums gradients over replicas itself (so it can log
    their norm, engine/replicas.py), and on one device the sum is the identity.

    Keras's TensorFlow optimizer sums gradients with `ReplicaContext.all_reduce`, whose `tf.custom_gradient`
    registers a gradient function in TensorFlow's global registry each time a step is traced. That entry keeps
    the traced graph alive for the life of the process: every new training run leaked 5-13 MB and a 10-minute
    soak grew 51%. Skipping the no-op sum lets each run's graphs go with the run (tests/test_engine.py checks).
    """

    def _all_reduce_sum_gradients(self, grads_and_vars):
        return list(grads_and_vars)


def resolve_config(config: TrainConfig, dataset: datasets.Dataset) -> TrainConfig:
    """Turn "auto" choices into facts: conditional only where the data has labels."""
    conditional = dataset.num_classes > 0 if config.conditional is None else config.conditional
    if conditional and dataset.num_classes == 0:
        raise ValueError(f"dataset {config.dataset!r} has no labels, so it cannot train a conditional GAN; "
                         "turn 'conditional' off")
    return config.replace(conditional=conditional)


def with_live_changes(config: TrainConfig, **changes) -> TrainConfig:
    """`config` with new lr_g / lr_d / d_steps (the settings that may change mid-run), checked as any config."""
    unknown = sorted(set(changes) - set(LIVE_FIELDS))
    if unknown:
        raise ValueError(f"only {list(LIVE_FIELDS)} can change while training, got {unknown}")
    return config.replace(**changes)


@dataclass(frozen=True)
class Progress:
    """What one `Run.train_for` call did."""
    steps: int
    seconds: float
    logs: dict                        # the last chunk's mean losses
    diverged_at: int | None = None    # the step whose losses went NaN/Inf; the run is back at its last good state

    @property
    def steps_per_sec(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def non_finite(self) -> str:
        return ", ".join(f"{k} = {v}" for k, v in self.logs.items() if not np.isfinite(v))


class Run:
    """Everything one GAN run owns. Not thread-safe: callers hold the trainer's lock."""

    def __init__(self, config: TrainConfig, dataset: datasets.Dataset):
        self.config = resolve_config(config, dataset)
        self.dataset = dataset = datasets.as_trained(dataset, self.config)
        self.num_classes = dataset.num_classes if self.config.conditional or dataset.pseudo_labels else 0
        self.placement = placement = devices.current()      # first: it may still split the CPU
        keras.utils.set_random_seed(self.config.seed)
        placement.check_batch(self.config.batch_size)
        with placement.scope():     # several devices: every variable is mirrored on each
            generator, discriminator = build_models(self.config, dataset.x.shape[1:], self.num_classes,
                                                    synchronized=placement.replicas > 1)
            images = dataset.kind == "image"
            self.gan = GAN(generator, discriminator, self.config.latent_dim, self.num_classes,
                           ema_decay=self.config.ema, augment=self.config.augment and images, shared_fakes=images,
                           seed=self.config.seed)
            self.gan.compile(d_optimizer=self._adam(self.config.lr_d), g_optimizer=self._adam(self.config.lr_g),
                             loss=self.config.loss, gp_weight=self.config.gp_weight,
                             r1_gamma=self.config.r1_gamma)
        self.iterator = iter(placement.distribute(lambda batch, seed: datasets.make_pipeline(dataset, batch, seed),
                                                  self.config.batch_size, self.config.seed))
        self._train_step = tf.function(placement.step(self.gan.train_step))
        self._d_step = tf.function(placement.step(self.gan.d_step))
        self._g_step = tf.function(placement.step(self.gan.g_step))
        self._chunk = tf.function(self._chunk_eager)
        self._toy_probe = tf.function(self._toy_probe_eager)
        self._raw_points = tf.function(lambda z, labels: self.gan.generator(self.gan.model_inputs(z, labels),
                                                                            training=False))
        self.sampler = Sampler(self.gan.sampling_generator(), self.config.latent_dim, self.num_classes,
                               dataset.kind, dataset.scale, self.config.label_kind(self.num_classes))
        self.fixed_z, self.fixed_labels = self._fixed_noise()
        self._centres = datasets.cluster_centres(dataset) if self.num_classes and dataset.kind == "toy" else None
        self.step = 0
        self.last_metrics: dict = {}
        self.record: dict = {}                # what the trainer saw (histories, trained time): kept in meta.json
        self.record_files: dict = {}          # and as files (run_files.RECORD_FILES: the timeline): name -> bytes
        self._speed = 0.0                     # steps/s of the last chunk: sizes the next one
        self._good = None
        self.save_good_state()
        self._good_saved_at = -np.inf         # a state to restore, but the first call's end replaces it

    @classmethod
    def build(cls, config: TrainConfig, points: np.ndarray | None = None) -> "Run":
        return cls(config, datasets.load_dataset(config, points))

    def _adam(self, lr):
        return SingleDeviceAdam(learning_rate=lr, beta_1=self.config.beta1, beta_2=self.config.beta2)

    def _fixed_noise(self):
        rng = np.random.default_rng(self.config.seed + 1)
        if self.dataset.kind == "toy":   # a clustered toy draws each cluster as often as the data has it
            labels = (rng.choice(self.num_classes, TOY_SAMPLES, p=datasets.label_shares(self.dataset)).astype(np.int32)
                      if self.num_classes else None)
            return rng.standard_normal((TOY_SAMPLES, self.config.latent_dim), np.float32), labels
        if self.num_classes:   # one column per class, so the grid reads as a table of classes
            rows = max(1, 64 // self.num_classes)
            labels = np.tile(np.arange(self.num_classes, dtype=np.int32), rows)
            return rng.standard_normal((len(labels), self.config.latent_dim), np.float32), labels
        return rng.standard_normal((64, self.config.latent_dim), np.float32), None

    # -- training --------------------------------------------------------------------------------
    def train_for(self, steps: int | None = None, seconds: float | None = None, *, which: str = "both",
                  one_at_a_time: bool = False, on_chunk: Callable[[int, dict], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Progress:
        """Train `steps` steps or about `seconds` of wall-clock, in compiled chunks of ~CHUNK_SECONDS.

        `one_at_a_time` (the Step button, and always for D or G alone) runs single steps, so each is its own
        point in the history. `on_chunk(step, mean_logs)` sees every chunk; `should_stop()` ends the call after
        a chunk. A NaN/Inf loss restores the last good state and ends the call (Progress.diverged_at says where).
        """
        if (steps is None) == (seconds is None):
            raise ValueError("train_for needs steps or seconds (one of them)")
        started, done, logs = time.perf_counter(), 0, {}
        single = one_at_a_time or which != "both"
        while True:
            chunk = 1 if single else self._chunk_size(None if steps is None else steps - done)
            begun = time.perf_counter()
            logs = self.train(which) if single else self.train_chunk(chunk)
            self._speed = chunk / max(time.perf_counter() - begun, 1e-6)
            done += chunk
            if on_chunk is not None:
                on_chunk(self.step, logs)
            if not all(np.isfinite(v) for v in logs.values()):
                failed_at = self.step
                self.restore_good_state()
                return Progress(done, time.perf_counter() - started, logs, diverged_at=failed_at)
            if (steps is not None and done >= steps) or (seconds is not None and
                                                         time.perf_counter() - started >= seconds):
                break
            if should_stop is not None and should_stop():
                break
            self._refresh_good_state(since=started)
        # The call ends on a good state it shows; one saved inside it (a slow first chunk) must not stand for it.
        self._refresh_good_state(force=self._good_saved_at >= started)
        return Progress(done, time.perf_counter() - started, logs)

    def _chunk_size(self, left: int | None) -> int:
        chunk = max(1, min(CHUNK_MAX, int(self._speed * CHUNK_SECONDS)))
        return chunk if left is None else min(chunk, left)

    def train(self, which: str = "both") -> dict:
        """One step: d_steps D updates and one G update ("both"), or one update of D or G alone."""
        if which not in ("both", "d", "g"):
            raise ValueError(f"which must be 'both', 'd' or 'g', got {which!r}")
        if which == "both" and self.config.d_steps == 1:
            logs = self._train_step(next(self.iterator))
        else:
            logs = {}
            for _ in range(self.config.d_steps if which == "both" else int(which == "d")):
                logs.update(self._d_step(*next(self.iterator)))
            if which in ("both", "g"):
                _, labels = next(self.iterator)
                logs.update(self._g_step(labels))
        self.step += 1
        return {k: float(v) for k, v in logs.items()}

    def train_chunk(self, steps: int) -> dict:
        """`steps` full steps inside one compiled call, returning their mean logs. On 2 cores the Python round
        trip per call costs as much as a small model's step, so `train_for` batches them."""
        logs = self._chunk(self.iterator, tf.constant(steps), self.config.d_steps)
        self.step += steps
        return {k: float(v) for k, v in logs.items()}

    def _one_step(self, iterator, d_steps):
        on_devices = self.placement.step
        if d_steps == 1:
            return on_devices(self.gan.train_step)(next(iterator))
        logs = {}
        for _ in range(d_steps):
            logs.update(on_devices(self.gan.d_step)(*next(iterator)))
        logs.update(on_devices(self.gan.g_step)(next(iterator)[1]))
        return logs

    def _chunk_eager(self, iterator, steps, d_steps):
        # The first step sits outside the loop so autograph sees the logs' structure before the loop.
        totals = self._one_step(iterator, d_steps)
        for _ in tf.range(steps - 1):
            logs = self._one_step(iterator, d_steps)
            totals = {k: totals[k] + logs[k] for k in totals}
        return {k: v / tf.cast(steps, tf.float32) for k, v in totals.items()}

    def set_hyperparams(self, **changes) -> TrainConfig:
        """Apply lr_g / lr_d / d_steps mid-run (validated first, so a bad value changes nothing)."""
        self.config = with_live_changes(self.config, **changes)
        self.gan.g_optimizer.learning_rate.assign(self.config.lr_g)
        self.gan.d_optimizer.learning_rate.assign(self.config.lr_d)
        return self.config

    # -- last good state (the NaN guard restores it) ---------------------------------------------
    def _state_variables(self):
        gan = self.gan
        ema = gan.ema_generator.weights if gan.ema_generator is not None else []
        return (gan.generator.weights + gan.discriminator.weights + ema
                + gan.g_optimizer.variables + gan.d_optimizer.variables)

    def save_good_state(self):
        self._good = (self.step, [v.numpy() for v in self._state_variables()])
        self._good_saved_at = time.perf_counter()

    def _refresh_good_state(self, since: float = -np.inf, force: bool = False):
        """Save the good state if GOOD_STATE_SECONDS passed since the last save and since `since`: at the end
        of every `train_for` call (so a NaN restores what the page last showed), and inside a long one."""
        if force or time.perf_counter() - max(self._good_saved_at, since) >= GOOD_STATE_SECONDS:
            self.save_good_state()

    def restore_good_state(self) -> int:
        step, values = self._good
        for variable, value in zip(self._state_variables(), values):
            variable.assign(value)
        self.step = step
        return step

    def refresh_sampler(self):
        self.sampler.update_weights(self.gan.sampling_generator().get_weights())

    # -- what a snapshot shows -------------------------------------------------------------------
    def fixed_samples(self) -> np.ndarray:
        return self.sampler.generate(self.fixed_z, self.fixed_labels)

    def toy_view(self, real: np.ndarray) -> ToyView:
        """The 2D view draws the generator being trained, not its EMA copy (when EMA is on): the arrows are the
        gradient for exactly these points, and one Step must visibly move them. Metrics and sliders use the
        smoother EMA generator."""
        scale = self.dataset.scale
        labels = tf.constant(self.fixed_labels if self.num_classes else np.zeros(len(self.fixed_z), np.int32))
        fake = self._raw_points(tf.constant(self.fixed_z), labels).numpy() * scale
        low, high = _view_bounds(real)
        axis = np.linspace(low, high, TOY_GRID, dtype=np.float32)
        gx, gy = np.meshgrid(axis, axis)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1) / scale
        realness, push = self._toy_probe(tf.constant(grid), tf.constant(self._nearest_cluster(grid)),
                                         tf.constant(fake / scale, tf.float32), labels)
        return ToyView(real=frozen_array(real), fake=frozen_array(fake), grid_x=frozen_array(axis),
                       grid_y=frozen_array(axis), d_grid=frozen_array(realness.numpy().reshape(TOY_GRID, TOY_GRID)),
                       arrows=frozen_array(push.numpy() * scale), manifold=frozen_array(self._manifold()))

    def _manifold(self) -> np.ndarray:
        """G's image of a square latent grid (GAN Lab's manifold): (C, K, K, 2) in data units, one mesh per class
        (C = 1 unconditional). A 1-d latent gives a line (K = 1 row); a larger one a slice through z[0], z[1]."""
        ticks = np.linspace(-MANIFOLD_EXTENT, MANIFOLD_EXTENT, MANIFOLD_GRID, dtype=np.float32)
        rows = 1 if self.config.latent_dim == 1 else MANIFOLD_GRID
        z = np.zeros((rows, MANIFOLD_GRID, self.config.latent_dim), np.float32)
        z[..., 0] = ticks[None, :]
        if rows > 1:
            z[..., 1] = ticks[:, None]
        classes = max(1, self.num_classes)
        z = np.tile(z.reshape(1, -1, self.config.latent_dim), (classes, 1, 1)).reshape(-1, self.config.latent_dim)
        labels = np.repeat(np.arange(classes, dtype=np.int32), rows * MANIFOLD_GRID)
        points = self._raw_points(tf.constant(z), tf.constant(labels)).numpy() * self.dataset.scale
        return points.reshape(classes, rows, MANIFOLD_GRID, 2)

    def _nearest_cluster(self, points: np.ndarray) -> np.ndarray:
        """A clustered toy's D judges a point as a member of a cluster: the background asks it about each grid
        point's nearest cluster. Unclustered: zeros, which an unconditional D ignores."""
        if not self.num_classes:
            return np.zeros(len(points), np.int32)
        return squared_distances(points, self._centres).argmin(axis=1).astype(np.int32)

    def _judge(self, points, labels):
        return self.gan.discriminator(self.gan.model_inputs(points, labels), training=False)

    def _toy_probe_eager(self, grid, grid_labels, fake, fake_labels):
        realness = losses.realness(self._judge(grid, grid_labels), self.config.loss)[:, 0]
        with tf.GradientTape() as tape:
            tape.watch(fake)
            g_loss = tf.reduce_sum(self.gan.g_loss_fn(self._judge(fake, fake_labels)))
        # The generator moves its samples down the gradient of its loss: that is the arrow.
        return realness, -tape.gradient(g_loss, fake)


def _view_bounds(real: np.ndarray):
    extent = float(np.abs(real).max()) * 1.25 if len(real) else 1.0
    return -extent, extent
