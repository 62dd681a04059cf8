"""Run.train_for, the one training loop the web trainer, the CLI and the bench share: budgets, chunks, the NaN
guard. Real training of a tiny 2D GAN."""
import numpy as np
import pytest

from playground.engine.config import default_config
from playground.engine.run import CHUNK_MAX, Run

TINY_RING = dict(clusters=0, width=16, batch_size=32, latent_dim=4, seed=3)


@pytest.fixture
def run():
    return Run.build(default_config("ring", **TINY_RING))


def test_a_step_budget_is_met_exactly_in_compiled_chunks(run):
    chunks = []
    progress = run.train_for(steps=100, on_chunk=lambda step, logs: chunks.append((step, logs)))
    assert progress.steps == run.step == 100 and progress.diverged_at is None
    steps = [step for step, _ in chunks]
    sizes = np.diff([0, *steps])
    assert steps[-1] == 100 and all(1 <= size <= CHUNK_MAX for size in sizes)
    assert len(chunks) < 100, "free-running steps are batched into compiled calls, not one call each"
    assert progress.logs == chunks[-1][1] and np.isfinite(list(progress.logs.values())).all()


def test_one_at_a_time_gives_each_step_its_own_logs(run):
    seen = []
    progress = run.train_for(steps=5, one_at_a_time=True, on_chunk=lambda step, logs: seen.append(step))
    assert seen == [1, 2, 3, 4, 5] and progress.steps == 5
    d_only = run.train_for(steps=2, which="d")
    assert run.step == 7 and "g_loss" not in d_only.logs and "d_loss" in d_only.logs


def test_a_time_budget_trains_for_at_least_that_long_and_a_stop_request_ends_it(run):
    run.train_for(steps=1)                                   # tracing, outside the budget
    progress = run.train_for(seconds=0.5)
    assert progress.seconds >= 0.5 and progress.steps == run.step - 1 > 0
    stopped = run.train_for(seconds=60.0, should_stop=lambda: True)
    assert stopped.seconds < 60.0 and 1 <= stopped.steps <= CHUNK_MAX, "a stop request ends the call after a chunk"


def test_a_budget_is_steps_or_seconds(run):
    for budget in ({}, {"steps": 3, "seconds": 1.0}):
        with pytest.raises(ValueError, match="steps or seconds"):
            run.train_for(**budget)


def test_a_nan_restores_the_state_of_the_last_call_and_says_where(run):
    run.train_for(steps=6)
    good = [w.copy() for w in run.gan.generator.get_weights()]
    kernel = run.gan.discriminator.weights[0]
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))     # as a blown-up learning rate would
    progress = run.train_for(steps=20)
    assert progress.diverged_at is not None and progress.diverged_at > 6
    assert run.step == 6, "back at the end of the last good call"
    assert "d_loss = nan" in progress.non_finite()
    for before, after in zip(good, run.gan.generator.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert np.isfinite(run.gan.discriminator.weights[0].numpy()).all()
    assert run.train_for(steps=2).diverged_at is None and run.step == 8, "and it trains on from there"


def test_a_config_is_checked_when_made_so_an_invalid_one_never_reaches_a_run():
    from playground.engine.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match="width must be between 4 and 256"):
        TrainConfig(dataset="ring", width=1)
    with pytest.raises(ConfigError, match="lr_g must be between"):
        default_config("ring").replace(lr_g=5.0)
