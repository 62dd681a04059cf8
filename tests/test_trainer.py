"""The trainer, for real: tiny models, a few steps, a real background thread."""
import dataclasses
import threading
import time

import numpy as np
import pytest
from conftest import wait_for as wait_until

from playground.metrics import evaluate
from playground.engine.config import default_config
from playground.training.trainer import Trainer, TrainerError

TINY_TOY = dict(width=16, batch_size=32, latent_dim=4, seed=3)


def wait_for(predicate):
    # Generous: building and tracing a run is slow on a busy 2-core machine.
    return wait_until(predicate, timeout=240.0)


@pytest.fixture
def trainer():
    t = Trainer(default_config("ring", **TINY_TOY), publish_interval=0.1, metrics_interval=0.5)
    yield t
    t.stop()


def test_start_pause_step_resume_stop(trainer):
    trainer.start()
    assert wait_for(lambda: trainer.snapshot().step >= 20), trainer.snapshot().error
    trainer.pause()
    paused_at = trainer.snapshot().step
    assert trainer.snapshot().status == "paused"
    time.sleep(0.4)
    assert trainer.snapshot().step == paused_at, "a paused trainer must not move"
    assert trainer.step(7).step == paused_at + 7
    assert trainer.step(3, which="d").step == paused_at + 10
    trainer.resume()
    assert wait_for(lambda: trainer.snapshot().step > paused_at + 20)
    trainer.stop()
    snap = trainer.snapshot()
    assert snap.status == "stopped"
    assert len(snap.history_steps) > 0 and np.isfinite(snap.history["d_loss"]).all()
    assert snap.toy is not None and snap.toy.fake.shape == (512, 2) and snap.toy.d_grid.min() >= 0


def test_snapshot_is_immutable(trainer):
    snap = trainer.step(2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 5
    with pytest.raises(ValueError):
        snap.toy.fake[0, 0] = 1.0


def test_wrong_state_actions_say_what_to_do(trainer):
    with pytest.raises(TrainerError, match="cannot pause"):
        trainer.pause()
    with pytest.raises(TrainerError, match="cannot resume"):
        trainer.resume()
    trainer.start()
    with pytest.raises(TrainerError, match="already running"):
        trainer.start()
    with pytest.raises(TrainerError, match="when paused"):
        trainer.step(1)


def test_hyperparameters_change_mid_run(trainer):
    trainer.start()
    assert wait_for(lambda: trainer.snapshot().step >= 5)
    trainer.set_hyperparams(lr_g=1e-4, lr_d=2e-4, d_steps=2)
    run = trainer.run
    assert float(run.gan.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert float(run.gan.d_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    assert wait_for(lambda: trainer.snapshot().config.d_steps == 2)
    with pytest.raises(ValueError, match="lr_g must be between"):
        trainer.set_hyperparams(lr_g=50.0)
    assert float(run.gan.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-4)


def test_the_run_owns_the_config_once_it_exists(trainer):
    assert trainer.config.conditional is None, "before the run: the settings it will be built from"
    trainer.set_hyperparams(lr_g=1e-4)
    assert trainer.config.lr_g == 1e-4
    with pytest.raises(ValueError, match="only .* can change while training"):
        trainer.set_hyperparams(width=8)
    assert trainer.config.width == TINY_TOY["width"], "a refused change changes nothing"
    trainer.step(1)
    assert trainer.config is trainer.run.config and trainer.config.lr_g == 1e-4
    assert trainer.config.conditional in (True, False), "the run resolved 'auto'"
    trainer.set_hyperparams(d_steps=3)
    assert trainer.config is trainer.run.config and trainer.run.config.d_steps == 3


def test_nan_pauses_and_keeps_last_good_weights(trainer):
    trainer.step(5)
    run = trainer.run
    good = [w.copy() for w in run.gan.generator.get_weights()]
    # Poison D so the next step's losses are NaN, as a blown-up learning rate would.
    kernel = run.gan.discriminator.weights[0]
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    snap = trainer.step(3)
    assert snap.status == "paused"
    assert any("diverged" in w for w in snap.warnings)
    assert snap.step == 5
    for before, after in zip(good, run.gan.generator.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert np.isfinite(run.gan.discriminator.weights[0].numpy()).all()
    labels = np.zeros(4, np.int32) if run.num_classes else None      # the ring's clusters, when it has them
    points = trainer.sampler().generate(np.zeros((4, run.config.latent_dim), np.float32), labels)
    assert np.isfinite(points).all(), "the restored generator must still be explorable"


def test_bad_data_puts_trainer_in_error_state_with_message():
    t = Trainer(default_config("ring", **TINY_TOY).replace(dataset="points"),
                points=np.array([[0.0, 1.0], [np.nan, 2.0]] * 8))
    t.start()
    assert wait_for(lambda: t.snapshot().status == "error")
    assert "points" in t.snapshot().error.lower()
    t.reset()
    assert t.snapshot().status == "idle"


def test_time_cap_pauses_with_warning():
    t = Trainer(default_config("ring", **TINY_TOY), publish_interval=0.1, max_seconds=0.3)
    t.start()
    assert wait_for(lambda: t.snapshot().status == "paused")
    assert any("time limit" in w for w in t.snapshot().warnings)
    t.stop()


def test_image_trainer_publishes_a_class_grid():
    config = default_config("digits", width=8, latent_dim=8, batch_size=16, seed=1)
    t = Trainer(config, publish_interval=0.1)
    snap = t.step(2)
    assert snap.samples.shape == (60, 28, 28, 1)
    assert snap.samples.min() >= -1 and snap.samples.max() <= 1
    assert list(snap.sample_labels[:10]) == list(range(10))
    assert snap.config.conditional is True


def test_toy_snapshots_share_one_frozen_array_of_real_points():
    # The Explore tab caches its figure on the identity of these points; a copy per publish rebuilt it each time.
    trainer = Trainer(default_config("ring", batch_size=32, width=16), publish_interval=0.05)
    first = trainer.step(2).toy.real
    second = trainer.step(2).toy.real
    assert second is first and not first.flags.writeable


def test_live_metrics_are_computed_beside_training(trainer, monkeypatch):
    # Spy on the real evaluation (it still runs) to see which thread does it: not the training thread.
    threads = []
    real_live_metrics = evaluate.live_metrics

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_live_metrics(*args, **kwargs)

    monkeypatch.setattr(evaluate, "live_metrics", spy)
    trainer.start()
    assert wait_for(lambda: trainer.snapshot().metrics.get("step", 0) > 0), trainer.snapshot().error
    snap = trainer.snapshot()
    assert "modes_covered" in snap.metrics and snap.metrics["step"] <= snap.step
    assert threads and all(name.startswith("gan-metrics") for name in threads), threads


def test_stepping_gives_metrics_of_that_step(trainer):
    snap = trainer.step(4)
    assert snap.metrics["step"] == 4 and 0 <= snap.metrics["high_quality_share"] <= 1


def test_pausing_shows_metrics_of_the_paused_step_not_an_older_one():
    # Metrics every 60 s: while running, only step 0's evaluation is due; pausing must evaluate the paused step.
    trainer = Trainer(default_config("ring", **TINY_TOY), publish_interval=0.1, metrics_interval=60.0)
    try:
        trainer.start()
        assert wait_for(lambda: trainer.snapshot().step >= 20), trainer.snapshot().error
        trainer.pause()
        snap = trainer.snapshot()
        assert snap.metrics["step"] == snap.step >= 20
    finally:
        trainer.stop()


def test_a_failing_evaluation_is_shown_not_swallowed(trainer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("classifier file is unreadable")

    monkeypatch.setattr(evaluate, "live_metrics", broken)
    trainer.start()
    assert wait_for(lambda: trainer.snapshot().status == "error")
    assert "classifier file is unreadable" in trainer.snapshot().error


def test_cheap_metrics_come_every_second_not_every_ten():
    # The newcomer saw "0 of 8" modes for 10 s while the plot showed all 8: a toy's evaluation costs
    # milliseconds, so it comes again after TOY_METRICS_SECONDS, well before the trainer's 10 s.
    trainer = Trainer(default_config("ring", **TINY_TOY), publish_interval=0.1)
    try:
        trainer.start()
        assert wait_for(lambda: "step" in trainer.snapshot().metrics), trainer.snapshot().error
        first = trainer.snapshot().metrics["step"]
        started = time.perf_counter()
        assert wait_until(lambda: trainer.snapshot().metrics["step"] > first, timeout=8.0)
        assert time.perf_counter() - started < trainer.metrics_interval
    finally:
        trainer.stop()
