import json
import os
import pathlib

import numpy as np
import pytest

from playground.engine import checkpoints
from playground.engine.checkpoints import CheckpointError, load_run, load_sampler, safe_run_name, save_run
from playground.metrics import evaluate
from playground.engine.config import default_config
from playground.engine.run import Run


@pytest.fixture(scope="module")
def toy_run():
    run = Run.build(default_config("ring", clusters=0, width=16, latent_dim=4, batch_size=32, seed=5))
    for _ in range(5):
        run.train()
    run.refresh_sampler()
    return run


def test_saved_and_reloaded_sampler_gives_identical_output(toy_run, tmp_path):
    save_run(toy_run, tmp_path / "ring")
    z = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    np.testing.assert_array_equal(toy_run.sampler.generate(z), load_sampler(tmp_path / "ring").generate(z))
    # The toy default has an EMA generator: it is saved beside the trained one, and samples come from it.
    assert toy_run.gan.ema_generator is not None
    saved = sorted(p.name for p in (tmp_path / "ring").iterdir())
    assert saved == sorted([*checkpoints.REQUIRED_FILES, "generator_ema.keras"])


def test_resume_restores_step_weights_and_optimizer(toy_run, tmp_path):
    save_run(toy_run, tmp_path / "ring")
    resumed = load_run(tmp_path / "ring")
    assert resumed.step == toy_run.step
    for a, b in zip(toy_run.gan.discriminator.get_weights(), resumed.gan.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.gan.g_optimizer.iterations.numpy()) == int(toy_run.gan.g_optimizer.iterations.numpy())
    resumed.train()
    assert resumed.step == toy_run.step + 1


def test_conditional_image_checkpoint_round_trip(tmp_path):
    run = Run.build(default_config("digits", width=8, latent_dim=8, batch_size=16, seed=2))
    run.train()
    run.refresh_sampler()
    save_run(run, tmp_path / "d")
    z = np.random.default_rng(1).standard_normal((10, 8)).astype(np.float32)
    labels = np.arange(10)
    reloaded = load_sampler(tmp_path / "d")
    assert reloaded.num_classes == 10 and reloaded.label_kind == "class"
    np.testing.assert_array_equal(run.sampler.generate(z, labels), reloaded.generate(z, labels))


def test_self_conditioned_run_resumes_with_the_same_clusters(tmp_path):
    config = default_config("digits", width=8, latent_dim=8, batch_size=16, seed=5, conditional=False)
    run = Run.build(config)
    assert run.num_classes == config.clusters == 10 and run.dataset.pseudo_labels
    assert run.sampler.label_kind == "cluster"          # the Explore tab calls them clusters, not classes
    run.train()
    run.refresh_sampler()
    values, _ = evaluate.quality(run.sampler, run.dataset, n=40)
    assert "fcd" in values and "label_accuracy" not in values, "cluster numbers are not digit classes"
    save_run(run, tmp_path / "sc")
    resumed = load_run(tmp_path / "sc")
    np.testing.assert_array_equal(resumed.dataset.labels, run.dataset.labels)
    reloaded = load_sampler(tmp_path / "sc")
    assert reloaded.num_classes == 10 and reloaded.label_kind == "cluster"
    resumed.train()


def test_spectral_norm_discriminator_resumes_exactly(tmp_path):
    run = Run.build(default_config("digits", width=8, latent_dim=8, batch_size=16, seed=4, spectral_norm=True))
    wrapped = [layer for layer in run.gan.discriminator.layers if type(layer).__name__ == "SpectralNormalization"]
    assert len(wrapped) == 4                        # two convs, the feature layer and the logit
    run.train()
    save_run(run, tmp_path / "sn")
    resumed = load_run(tmp_path / "sn")
    assert resumed.config.spectral_norm
    for a, b in zip(run.gan.discriminator.get_weights(), resumed.gan.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)         # includes the power-iteration vectors
    resumed.train()


def test_failed_save_never_replaces_a_good_checkpoint(toy_run, tmp_path, monkeypatch):
    target = tmp_path / "ring"
    save_run(toy_run, target)
    before = (target / "generator.keras").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(np, "savez", crash)   # dies half-way: models written, optimizer state not
    with pytest.raises(OSError, match="disk full"):
        save_run(toy_run, target)
    assert (target / "generator.keras").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ring"], "the half-written temp dir must be cleaned up"
    load_sampler(target)


def test_incomplete_or_corrupt_checkpoints_give_clear_errors(toy_run, tmp_path):
    save_run(toy_run, tmp_path / "ring")
    (tmp_path / "ring" / "generator_ema.keras").write_bytes(b"not a zip at all")   # what samplers load
    with pytest.raises(CheckpointError, match="corrupt"):
        load_sampler(tmp_path / "ring")
    (tmp_path / "ring" / "generator.keras").write_bytes(b"PK\x03\x04 truncated")   # what a resume loads
    with pytest.raises(CheckpointError, match="corrupt"):
        load_run(tmp_path / "ring")
    os.remove(tmp_path / "ring" / "meta.json")
    with pytest.raises(CheckpointError, match="incomplete"):
        load_sampler(tmp_path / "ring")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_sampler(tmp_path / "missing")
    assert checkpoints.list_checkpoints(tmp_path) == []


@pytest.mark.parametrize("name", ["../evil", "a/b", "a\\b", "/abs", "..", "", " ", ".hidden", "x" * 65, "sp ace"])
def test_unsafe_names_are_rejected(name):
    with pytest.raises(CheckpointError):
        safe_run_name(name)


def test_safe_names_pass():
    assert safe_run_name(" my-run_2.v1 ") == "my-run_2.v1"


KILLED_SAVER = """
import sys, time
from playground.engine import checkpoints
from playground.engine.config import default_config
from playground.engine.run import Run
run = Run.build(default_config("ring", clusters=0, width=16, latent_dim=4, batch_size=32, seed=6))
for _ in range(3):                              # three complete saves: steps 1, 2, 3
    run.train()
    checkpoints.save_run(run, sys.argv[1])

def write_marker_slowly(path, text):            # the 4th save stops before its "complete" marker, until killed
    print("mid-save", flush=True)
    time.sleep(600)

checkpoints._write_synced = write_marker_slowly
run.train()
checkpoints.save_run(run, sys.argv[1])
"""


def test_killing_the_process_during_a_save_leaves_the_last_complete_checkpoint(toy_run, tmp_path):
    import signal
    import subprocess
    import sys

    target = tmp_path / "ring"
    save_run(toy_run, target)
    saver = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert saver.stdout.readline().strip() == "mid-save"
        staging = list(tmp_path.glob(".ring.tmp-*"))
        assert len(staging) == 1 and (staging[0] / "generator.keras").is_file(), "a save is in flight"
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=30)
    # The kill left the half-written save behind (proof it was in flight) and the target untouched by it.
    assert staging[0].is_dir() and not (staging[0] / "meta.json").exists()
    config, meta = checkpoints.read_meta(target)
    assert meta["step"] == 3 and config.seed == 6, "the target is the last complete save"
    sampler = load_sampler(target)
    assert np.isfinite(sampler.generate(np.zeros((2, 4), np.float32))).all()
    assert [p.name for p in checkpoints.list_checkpoints(tmp_path)] == ["ring"]


def test_a_crash_between_the_two_renames_is_recovered(toy_run, tmp_path):
    target = tmp_path / "ring"
    save_run(toy_run, target)
    target.rename(tmp_path / ".ring.old-123")          # the state a kill between the renames leaves
    assert load_sampler(target) is not None
    assert target.is_dir() and not (tmp_path / ".ring.old-123").exists()


def test_runs_saved_before_the_feature_layer_existed_still_resume(tmp_path):
    """A config.json without `d_features` or `r1_gamma` (runs saved before they existed) loads them as 0, the
    architecture and loss it was trained with, so its saved D fits and training continues (a mismatch would say
    the checkpoint is damaged)."""
    config = default_config("digits", width=8, latent_dim=8, batch_size=16, seed=3, d_features=0)
    run = Run.build(config)
    run.train()
    folder = save_run(run, tmp_path / "old")
    saved = json.loads((folder / "config.json").read_text())
    del saved["d_features"], saved["r1_gamma"]
    (folder / "config.json").write_text(json.dumps(saved))
    resumed = load_run(folder)
    assert resumed.config.d_features == 0 and resumed.config.r1_gamma == 0
    assert "features" not in [layer.name for layer in resumed.gan.discriminator.layers]
    resumed.train()
    assert resumed.step == run.step + 1


@pytest.mark.parametrize("name", ["ring", "digits"])
def test_bundled_runs_resume_as_runs(name):
    from playground.training.trainer import Trainer

    run = load_run(pathlib.Path(__file__).resolve().parents[1] / "checkpoints" / name)
    step = run.step
    run.train()
    assert run.step == step + 1
    shown = Trainer(run.config, run=run).snapshot()       # saved before runs kept a record or a timeline
    assert shown.warnings == () and [frame_step for frame_step, _ in shown.timeline] == [step + 1]


@pytest.mark.parametrize("units", [0, 32])
def test_conditional_discriminator_has_the_configured_feature_layer(units):
    from playground.engine.models import build_models

    config = default_config("digits", width=8, latent_dim=8, d_features=units)
    assert default_config("digits").d_features == 32
    _, discriminator = build_models(config, (28, 28, 1), num_classes=10)
    features = [layer for layer in discriminator.layers if layer.name == "features"]
    assert [layer.units for layer in features] == ([units] if units else [])


def test_a_saved_run_keeps_its_histories_timeline_trained_time_and_marks(tmp_path):
    from playground.training.trainer import Trainer

    trainer = Trainer(default_config("ring", width=16, batch_size=32, latent_dim=4, seed=3))
    trainer.step(3)
    trainer.set_hyperparams(lr_g=1e-3)
    trainer.step(12)
    with trainer.lock:
        trainer.keep_record()
    save_run(trainer.run, tmp_path / "kept")
    assert (tmp_path / "kept" / "timeline.npz").is_file()
    before = trainer.snapshot()
    loaded_trainer = Trainer(load_run(tmp_path / "kept").config, run=load_run(tmp_path / "kept"))
    loaded = loaded_trainer.snapshot()
    assert loaded.history_steps.tolist() == list(range(1, 16)) == before.history_steps.tolist()
    assert np.allclose(loaded.history["d_loss"], before.history["d_loss"])
    assert loaded.wall_time == pytest.approx(before.wall_time) and loaded.wall_time > 0, "its true trained time"
    assert loaded.marks == ((0, "Step ×3"), (3, "lr_g=0.001"), (3, "Step ×12"))   # where Steps began, a rate changed
    assert loaded.metric_steps.tolist() == before.metric_steps.tolist() == [3, 15], "no second point for step 15"
    assert np.allclose(loaded.metric_history["js_divergence"], before.metric_history["js_divergence"])
    assert [step for step, _ in loaded.timeline] == [step for step, _ in before.timeline] == [3, 15]
    for (_, saved), (_, back) in zip(before.timeline, loaded.timeline):
        np.testing.assert_array_equal(saved, back)
    assert loaded.warnings == ()
    loaded_trainer.step(10)                                    # training on adds to what was loaded
    assert [step for step, _ in loaded_trainer.snapshot().timeline] == [3, 15, 25]
    assert loaded_trainer.snapshot().metric_steps.tolist() == [3, 15, 25]

    meta = json.loads((tmp_path / "kept" / "meta.json").read_text())
    meta["record"]["history"]["d_loss"] = ["nonsense"]          # a hand-edited file from outside
    (tmp_path / "kept" / "meta.json").write_text(json.dumps(meta))
    broken = Trainer(default_config("ring"), run=load_run(tmp_path / "kept")).snapshot()
    assert broken.step == 15 and broken.history_steps.size == 0 and len(broken.timeline) == 2
    assert any("saved history could not be read" in warning for warning in broken.warnings)

    del meta["record"]                                          # as runs saved before the record existed
    (tmp_path / "kept" / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "kept" / "timeline.npz").unlink()
    old = Trainer(default_config("ring"), run=load_run(tmp_path / "kept")).snapshot()
    assert old.step == 15 and old.warnings == () and [step for step, _ in old.timeline] == [15]
