"""Colour and size: the built-in shapes, their closed-form check, and RGB runs at 32x32 and 64x64."""
import numpy as np
import pytest

from playground.data import shapes
from playground.data.datasets import load_dataset
from playground.engine.config import default_config
from playground.engine.models import upsampling_stages
from playground.engine.run import Run
from playground.metrics import evaluate


def to_model_space(images):
    return images.astype(np.float32) / 127.5 - 1.0


def test_shapes_are_drawn_the_same_for_a_seed_in_equal_class_shares():
    images, labels = shapes.draw_shapes(120, 16, seed=5)
    again, same_labels = shapes.draw_shapes(120, 16, seed=5)
    other, _ = shapes.draw_shapes(120, 16, seed=6)
    assert images.shape == (120, 16, 16, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, same_labels)
    assert not np.array_equal(images, other)
    assert np.bincount(labels).tolist() == [10] * 12 and len(shapes.CLASS_NAMES) == 12


@pytest.mark.parametrize("size", [32, 64])
def test_the_check_recognises_drawn_shapes_and_rejects_noise(size):
    images, labels = shapes.draw_shapes(240, size, seed=1)
    report = shapes.shape_metrics(to_model_space(images), labels)
    assert report["recognised_share"] >= 0.98 and report["label_accuracy"] >= 0.98
    assert report["shape_classes_covered"] == 12
    noise = np.random.default_rng(0).uniform(-1, 1, (100, size, size, 3)).astype(np.float32)
    blurred = np.repeat(to_model_space(images).mean(axis=0, keepdims=True), 20, axis=0)   # the average picture
    grey = to_model_space(images).mean(axis=3, keepdims=True).repeat(3, axis=3)            # right shapes, no colour
    for bad in (noise, blurred, grey):
        assert shapes.shape_metrics(bad)["recognised_share"] <= 0.05


def test_generators_gain_a_stage_above_32_pixels_and_keep_smaller_ones():
    assert [upsampling_stages(s) for s in (8, 16, 28, 32, 36, 48, 56, 60, 64)] == [2, 2, 2, 2, 2, 3, 3, 2, 3]


def test_a_colour_run_at_32_trains_and_is_judged_by_the_shape_check():
    config = default_config("shapes", width=8, batch_size=16, seed=0)
    assert (config.image_size, config.channels) == (32, 3)
    run = Run.build(config)
    assert run.dataset.x.shape[1:] == (32, 32, 3) and run.num_classes == 12
    logs = run.train_chunk(2)
    assert np.isfinite(list(logs.values())).all()
    run.refresh_sampler()
    values, samples = evaluate.quality(run.sampler, run.dataset, n=48)
    assert samples.shape == (48, 32, 32, 3)
    assert set(values) == {"recognised_share", "shape_classes_covered", "label_accuracy"}
    assert values["recognised_share"] < 0.5          # two steps in: not shapes yet


def test_a_64_pixel_colour_run_trains_with_three_stages():
    run = Run.build(default_config("shapes", image_size=64, width=4, batch_size=8, seed=0, clusters=0))
    generator, discriminator = run.gan.generator, run.gan.discriminator
    assert generator.output_shape[1:] == (64, 64, 3)
    assert sum(layer.__class__.__name__ == "Conv2DTranspose" for layer in generator.layers) == 3
    assert sum(layer.__class__.__name__ == "Conv2D" for layer in discriminator.layers) == 3
    assert np.isfinite(list(run.train().values())).all()


def test_shapes_load_at_the_configured_size_in_grey_too():
    grey = load_dataset(default_config("shapes", image_size=16, channels=1))
    assert grey.x.shape[1:] == (16, 16, 1) and grey.num_classes == 12 and grey.class_names[0] == "red circle"
