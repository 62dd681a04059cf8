"""Sampler: the XLA-compiled, padded forward pass gives what the generator itself gives, at any batch size."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from playground.sampling import sampler as sampling
from playground.engine.config import default_config
from playground.engine.run import Run


@pytest.fixture(scope="module")
def ring_run():
    run = Run.build(default_config("ring", clusters=0, seed=3))
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


def test_runs_of_one_architecture_share_compiled_renderers_but_keep_their_own_weights():
    # XLA keeps compiled programs for the life of the process: a renderer per run leaked ~3 MB a digits run.
    config = default_config("ring", clusters=0, seed=0, width=16, latent_dim=3)
    runs = [Run.build(config.replace(seed=seed)) for seed in (1, 2, 3)]
    other = Run.build(config.replace(latent_dim=5))
    assert len({id(run.sampler._pool) for run in runs}) == 1
    assert other.sampler._pool is not runs[0].sampler._pool
    z = np.random.default_rng(4).standard_normal((7, 3)).astype(np.float32)
    for _ in range(2):                                # interleaved: each render loads its own weights
        outs = [run.sampler.generate(z) for run in runs]
        for run, out in zip(runs, outs):
            np.testing.assert_allclose(out, _direct(run, z), rtol=1e-4, atol=1e-5)
    assert not np.allclose(outs[0], outs[1])
    assert 1 <= len(runs[0].sampler._pool.renderers) <= sampling.RENDERERS_PER_ARCHITECTURE


def test_a_pool_never_grows_past_its_limit_under_concurrent_renders():
    runs = [Run.build(default_config("ring", clusters=0, seed=seed, width=16, latent_dim=6)) for seed in range(6)]
    z = np.ones((64, 6), np.float32)
    with ThreadPoolExecutor(6) as pool:
        outs = list(pool.map(lambda run: [run.sampler.generate(z) for _ in range(5)][-1], runs))
    for run, out in zip(runs, outs):
        np.testing.assert_allclose(out, _direct(run, z), rtol=1e-4, atol=1e-5)
    assert len(runs[0].sampler._pool.renderers) <= sampling.RENDERERS_PER_ARCHITECTURE


def test_architecture_key_ignores_layer_names_only():
    a, b = (Run.build(default_config("ring", clusters=0, seed=s, width=16, latent_dim=3)).gan.generator for s in (1, 2))
    wider = Run.build(default_config("ring", clusters=0, width=32, latent_dim=3)).gan.generator
    assert a.layers[1].name != b.layers[1].name
    assert sampling.architecture_key(a) == sampling.architecture_key(b) != sampling.architecture_key(wider)
