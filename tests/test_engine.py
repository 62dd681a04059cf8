"""Run: the optimizer workaround that keeps memory flat across many training runs."""
import gc

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.func_graph import FuncGraph

from playground.engine.config import default_config
from playground.engine.run import Run, SingleDeviceAdam


def _live_training_graphs() -> int:
    gc.collect()
    return sum(isinstance(o, FuncGraph) and o.name in ("_chunk_eager", "train_step") for o in gc.get_objects())


def _train_and_drop(seed: int) -> None:
    run = Run.build(default_config("ring", seed=seed, batch_size=32))
    run.train_chunk(4)
    run.train("both")
    assert run.step == 5


def test_finished_runs_leave_no_traced_training_graphs_behind():
    # Keras's stock Adam kept every traced step graph alive (global gradient registry): the soak's leak.
    before = _live_training_graphs()
    for seed in range(3):
        _train_and_drop(seed)
    assert _live_training_graphs() == before


def test_single_device_adam_updates_exactly_like_keras_adam():
    keras.utils.set_random_seed(0)
    start = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    results = []
    for optimizer in (keras.optimizers.Adam(0.01, beta_1=0.5), SingleDeviceAdam(0.01, beta_1=0.5)):
        variable = keras.Variable(start)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.sin(variable.value) * variable.value)
            optimizer.apply_gradients([(tape.gradient(loss, variable.value), variable)])

        for _ in range(3):
            step()
        results.append(np.asarray(variable.numpy()))
    assert not np.allclose(results[0], start)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("clusters", [0, 16])
def test_toy_view_draws_the_trained_generator_while_samples_come_from_its_ema_copy(clusters):
    run = Run.build(default_config("ring", seed=0, batch_size=32, ema=0.99, clusters=clusters))
    run.train_chunk(100)                 # the EMA's horizon ramps up: after 100 steps it averages over 10
    run.refresh_sampler()
    scale = run.dataset.scale
    inputs = [run.fixed_z, run.fixed_labels[:, None]] if clusters else [run.fixed_z]
    raw = run.gan.generator(inputs, training=False).numpy() * scale
    ema = run.fixed_samples()
    view = run.toy_view(np.zeros((4, 2), np.float32))
    np.testing.assert_allclose(view.fake, raw, rtol=1e-5, atol=1e-5)
    # The EMA copy lags the trained generator, so the two differ: the view really is the raw one.
    assert np.abs(ema - raw).max() > 1e-3


def test_a_self_conditioned_toy_trains_on_clusters_that_each_sit_on_one_mode():
    from playground.data.datasets import label_shares
    from playground.data.distances import squared_distances
    from playground.metrics.evaluate import generate

    run = Run.build(default_config("ring", seed=0, clusters=16))
    assert run.num_classes == 16 and run.sampler.label_kind == "cluster" and not run.config.conditional
    # 16 k-means clusters of 8 tight modes: none straddles two modes, so G never has to bridge them.
    nearest_mode = squared_distances(run.dataset.x, run.dataset.modes / run.dataset.scale).argmin(axis=1)
    assert all(len(set(nearest_mode[run.dataset.labels == j])) == 1 for j in range(16))
    # The 2D view and the metrics draw each cluster as often as the data has it.
    shares = label_shares(run.dataset)
    np.testing.assert_allclose(np.bincount(run.fixed_labels, minlength=16) / len(run.fixed_labels), shares, atol=0.04)
    only_first = np.eye(16)[0]
    assert set(generate(run.sampler, 50, seed=0, label_shares=only_first)[1]) == {0}
    # D's background judges each grid point as a member of its nearest cluster.
    assert list(run._nearest_cluster(run._centres)) == list(range(16))
    view = run.toy_view(np.zeros((4, 2), np.float32))
    assert np.isfinite(view.d_grid).all() and np.isfinite(view.arrows).all() and view.fake.shape == (512, 2)


def test_ema_horizon_ramps_up_with_the_run_and_stops_at_the_configured_decay():
    from playground.engine.gan import EMA_RAMPUP, ema_decay_at

    assert float(ema_decay_at(0, 0.999)) == 0.0                    # the first steps copy G
    steps = 100 / EMA_RAMPUP                                         # a horizon of 100 steps
    assert abs(float(ema_decay_at(steps, 0.999)) - 0.99) < 1e-6
    assert abs(float(ema_decay_at(10**7, 0.999)) - 0.999) < 1e-6    # never past the configured decay
    assert float(ema_decay_at(10**7, 0.0)) == 0.0


def _generator_passes(run, monkeypatch):
    """Generator passes made by one eager train_step (each pass draws noise once)."""
    from playground.engine.gan import GAN

    passes, make_noise = [], GAN._noise
    monkeypatch.setattr(GAN, "_noise", lambda self, batch, seed: passes.append(batch) or make_noise(self, batch, seed))
    logs = run.gan.train_step(next(run.iterator))
    assert int(run.gan.d_optimizer.iterations) == 1 and int(run.gan.g_optimizer.iterations) == 1
    assert {"d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"} <= set(logs)
    assert float(logs["grad_norm_g"]) > 0 and float(logs["grad_norm_d"]) > 0
    return len(passes)


def test_an_image_training_step_makes_one_batch_of_fakes_for_both_updates(monkeypatch):
    run = Run.build(default_config("digits", seed=0, width=8, batch_size=16))
    assert _generator_passes(run, monkeypatch) == 1


def test_a_toy_training_step_makes_fresh_fakes_for_g(monkeypatch):
    run = Run.build(default_config("ring", seed=0, batch_size=32))
    assert _generator_passes(run, monkeypatch) == 2


def test_r1_penalty_enters_the_discriminator_loss_only_when_on():
    """Same seed, same first batch, same weights: with r1_gamma the D loss gains gamma/2 times a positive penalty."""
    losses_by_gamma = {}
    for gamma in (0.0, 1.0):
        run = Run.build(default_config("digits", seed=0, width=8, batch_size=16, r1_gamma=gamma))
        losses_by_gamma[gamma] = run.train()["d_loss"]
    assert default_config("digits").r1_gamma > 0 and default_config("ring").r1_gamma == 0
    assert losses_by_gamma[1.0] > losses_by_gamma[0.0] + 1e-4
