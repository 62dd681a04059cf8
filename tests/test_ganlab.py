"""The GAN-Lab additions' logic: share links, compared runs, the manifold probe and the charted metrics."""
import numpy as np
import pytest

from playground.engine.config import default_config
from playground.training.snapshot import empty_snapshot, frozen_array
from playground.web.compare import MAX_RUNS, RunShelf, run_names
from playground.web.links import config_from_query, query_from_config


# -- share links ------------------------------------------------------------------------------------------
def test_a_link_round_trips_the_settings_that_differ_from_the_defaults():
    config = default_config("grid", loss="hinge", lr_g=0.001, conditional=False)
    query = query_from_config(config)
    assert query == "?dataset=grid&loss=hinge&lr-g=0.001&conditional=off"
    parsed, problems = config_from_query(dict(pair.split("=") for pair in query[1:].split("&")))
    assert parsed == config and problems == []
    assert config_from_query({}) == (None, [])
    few = default_config("digits", max_images=100, augment=True)
    assert query_from_config(few) == "?dataset=digits&augment=on&max-images=100"
    assert config_from_query({"dataset": "digits", "augment": "on", "max-images": "100"}) == (few, [])


def test_bad_link_parameters_are_named_and_the_rest_still_applies():
    config, problems = config_from_query({"dataset": "grid", "lr-g": "5", "width": "wide", "colour": "red",
                                          "loss": "hinge"})
    assert config.dataset == "grid" and config.loss == "hinge" and config.lr_g == default_config("grid").lr_g
    assert any("lr-g='5' was ignored: lr_g must be between" in p for p in problems)
    assert any("width='wide' was ignored: width must be a whole number" in p for p in problems)
    assert any("unknown link parameter 'colour'" in p for p in problems)
    config, problems = config_from_query({"dataset": "ring", "max-images": "100"})
    assert config.max_images == 0 and "max_images is for image datasets" in problems[0]
    config, problems = config_from_query({"dataset": "/etc/passwd"})
    assert config.dataset == "ring" and "is not one of ring" in problems[0]
    with pytest.raises(ValueError, match="built-in dataset"):
        query_from_config(default_config("points"))


# -- compared runs ----------------------------------------------------------------------------------------
class FakeTrainer:        # only its identity matters to the shelf
    pass


def history_snapshot(config, steps):
    snapshot = empty_snapshot(config)
    history = {key: frozen_array(np.linspace(1, 0, steps)) for key in snapshot.history}
    return snapshot.__class__(**{**snapshot.__dict__, "history_steps": frozen_array(np.arange(steps), np.int64),
                                 "history": history, "step": steps})


def test_runs_are_named_by_the_settings_that_differ():
    names = run_names({1: default_config("ring"), 2: default_config("ring", lr_g=1e-3, loss="hinge")})
    assert names == {1: "run 1: loss=lsgan, lr_g=0.002", 2: "run 2: loss=hinge, lr_g=0.001"}
    assert run_names({1: default_config("grid")}) == {1: "run 1: dataset=grid"}


def test_the_shelf_keeps_each_runs_newest_snapshot_and_forgets_the_oldest():
    shelf, trainers = RunShelf(), [FakeTrainer() for _ in range(MAX_RUNS + 1)]
    shelf.remember(trainers[0], history_snapshot(default_config("ring"), 5))
    shelf.remember(trainers[0], history_snapshot(default_config("ring"), 9))     # same run, newer
    shelf.remember(trainers[1], history_snapshot(default_config("ring", seed=4), 7))
    curves = shelf.curves("g_loss")
    assert [(name, len(steps)) for name, steps, _ in curves] == [("run 1: seed=0", 9), ("run 2: seed=4", 7)]
    assert shelf.curves("js_divergence") == []          # no metrics measured yet
    for trainer in trainers[2:]:
        shelf.remember(trainer, history_snapshot(default_config("ring"), 3))
    assert len(shelf) == MAX_RUNS and not any(name.startswith("run 1:") for name, _, _ in shelf.curves("d_loss"))
    with pytest.raises(ValueError, match="curve must be one of"):
        shelf.curves("nonsense")


# -- the manifold and the charted metrics, on a real tiny run ---------------------------------------------
def test_manifold_follows_the_generator_and_metrics_are_charted_over_steps():
    from playground.training.trainer import Trainer

    trainer = Trainer(default_config("spiral", width=16, batch_size=32, latent_dim=3, seed=1), metrics_interval=0.1)
    first = trainer.step(2)
    mesh = np.asarray(first.toy.manifold)
    assert mesh.shape == (1, 13, 13, 2) and np.isfinite(mesh).all()
    after_g = trainer.step(1, which="g")
    assert not np.allclose(after_g.toy.manifold, mesh), "a G step must move the manifold"
    after_d = trainer.step(1, which="d")
    np.testing.assert_allclose(after_d.toy.manifold, after_g.toy.manifold)   # D's step leaves G's mesh alone
    assert list(after_d.metric_steps) == [2, 3, 4]
    js = after_d.metric_history["js_divergence"]
    assert js.shape == (3,) and np.all((js > 0) & (js <= np.log(2) + 1e-9))
    assert np.isnan(after_d.metric_history["mode_coverage"]).all()    # the spiral has no Gaussian modes
    assert after_d.metrics["js_divergence"] == pytest.approx(js[-1])


def test_every_experiment_is_a_link():
    from playground.web.experiments import EXPERIMENTS

    for key, chosen in EXPERIMENTS.items():
        config, problems = config_from_query({"experiment": key})
        assert problems == [] and config == chosen.config(), key
    config, _ = config_from_query({"experiment": "collapse", "lr-g": "0.001"})     # the rest of the link on top
    assert (config.dataset, config.r1_gamma, config.lr_g) == ("grid", 0.0, 0.001)
    config, problems = config_from_query({"experiment": "nope"})
    assert config.dataset == "ring" and "experiment='nope' is not one of collapse" in problems[0]
