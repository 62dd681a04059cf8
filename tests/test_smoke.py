"""Every loss, augmentation and the tutorial model train for real (tiny models, two steps): finite losses, moving
weights, samples in range."""
import numpy as np
import pytest

from playground.engine.config import LOSSES, TUTORIAL_RECIPE, default_config
from playground.engine.run import Run
from playground.web.experiments import experiment

TINY_DIGITS = dict(width=8, latent_dim=8, batch_size=16, seed=2)


def trains(config, steps=2) -> Run:
    """Build `config`, train `steps` steps, check the losses are finite and G's weights moved; returns the run."""
    run = Run.build(config)
    before = [w.copy() for w in run.gan.generator.get_weights()]
    progress = run.train_for(steps=steps)
    assert progress.diverged_at is None and run.step == steps
    assert {"d_loss", "g_loss"} <= set(progress.logs) and np.isfinite(list(progress.logs.values())).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, run.gan.generator.get_weights()))
    run.refresh_sampler()
    return run


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_a_conditional_image_gan(loss):
    run = trains(default_config("digits", loss=loss, **TINY_DIGITS))
    assert run.gan.loss_name == loss and run.num_classes == 10
    samples = run.fixed_samples()
    assert samples.shape[1:] == (28, 28, 1) and samples.min() >= -1 and samples.max() <= 1


@pytest.mark.parametrize("loss", ["wgan-gp", "hinge"])     # standard and lsgan train 2D GANs in test_trainer/test_ui
def test_the_other_losses_train_a_clustered_2d_gan(loss):
    run = trains(default_config("ring", loss=loss, clusters=4, width=16, batch_size=32, latent_dim=4, seed=2))
    assert run.num_classes == 4 and np.isfinite(run.fixed_samples()).all()


def test_augmentation_trains_on_few_images_as_its_experiment_sets_it_up():
    run = trains(experiment("few-augment").config().replace(**TINY_DIGITS))
    assert run.gan.augment is True and run.num_classes == 10
    assert len(run.dataset.x) == 100 and np.bincount(run.dataset.labels).tolist() == [10] * 10


def test_the_tf_tutorial_model_trains():
    run = trains(default_config("digits", **{**TUTORIAL_RECIPE, "batch_size": 16}))
    assert run.config.architecture == "tutorial" and run.num_classes == 0 and run.config.latent_dim == 100
    samples = run.fixed_samples()
    assert samples.shape == (64, 28, 28, 1) and samples.min() >= -1 and samples.max() <= 1
