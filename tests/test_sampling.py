"""Sampler: the XLA-compiled, padded forward pass gives what the generator itself gives, at any batch size."""
import numpy as np
import pytest

from playground.config import default_config
from playground.engine import Run


@pytest.fixture(scope="module")
def ring_run():
    run = Run.build(default_config("ring", seed=3))
    run.train_chunk(8)
    run.refresh_sampler()
    return run


def _direct(run, z, labels=None):
    """The Keras generator called directly (no padding, no XLA), in the data's own coordinates."""
    inputs = [z] if labels is None else [z, np.asarray(labels, np.int32)[:, None]]
    out = np.asarray(run.sampler.model()(inputs, training=False))
    return out * run.sampler.scale if run.sampler.kind == "toy" else out


@pytest.mark.parametrize("n", [1, 5, 64, 65, 1030])
def test_padded_batches_match_the_generator(ring_run, n):
    z = np.random.default_rng(n).standard_normal((n, ring_run.config.latent_dim)).astype(np.float32)
    out = ring_run.sampler.generate(z)
    assert out.shape == (n, 2)
    np.testing.assert_allclose(out, _direct(ring_run, z), rtol=1e-4, atol=1e-5)


def test_empty_batch_gives_an_empty_result(ring_run):
    assert ring_run.sampler.generate(np.zeros((0, ring_run.config.latent_dim), np.float32)).shape == (0, 2)


def test_conditional_padding_keeps_each_sample_its_own_class():
    run = Run.build(default_config("digits", seed=0, width=8, batch_size=16))
    run.refresh_sampler()
    z = np.random.default_rng(0).standard_normal((3, run.config.latent_dim)).astype(np.float32)
    labels = [7, 2, 9]
    out = run.sampler.generate(z, labels)
    assert out.shape == (3, *run.sampler.output_shape)
    np.testing.assert_allclose(out, _direct(run, z, labels), rtol=1e-4, atol=1e-4)
    run.sampler.compile_render()          # the one-sample program: must not disturb later renders
    np.testing.assert_allclose(run.sampler.generate(z[:1], labels[:1]), out[:1], rtol=1e-5, atol=1e-5)
