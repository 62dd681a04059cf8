"""playground.web.sessions and playground.web.saved_runs for real: tiny trainers in background threads, real checkpoints
and zips on disk."""
import pathlib
import zipfile

import numpy as np
import pytest
from conftest import wait_for

from playground.engine.config import default_config
from playground.web.saved_runs import (NoRoomToSave, SamplerCache, checkpoint_choices, owner_checkpoints_root,
                                       save_for_download, save_session_run, unpack_run_zip, zip_run)
from playground.data.images import DataError
from playground.data.points import parse_points
from playground.web.sessions import BusyError, SessionError, SessionRegistry, checkpoints_root

TINY_TOY = dict(width=16, batch_size=32, latent_dim=4, seed=3)




@pytest.fixture
def registry():
    reg = SessionRegistry(max_trainings=1, max_train_seconds=None)
    yield reg
    reg.close_all()


def ring():
    return default_config("ring", **TINY_TOY)


# -- environment ---------------------------------------------------------------------------------------
def test_limits_come_from_the_environment():
    reg = SessionRegistry.from_env({"GAN_MAX_TRAININGS": "3", "GAN_MAX_TRAIN_SECONDS": "60"})
    assert (reg.max_trainings, reg.max_train_seconds) == (3, 60.0)
    defaults = SessionRegistry.from_env({})
    assert (defaults.max_trainings, defaults.max_train_seconds) == (2, 900.0)
    with pytest.raises(SessionError, match="GAN_MAX_TRAININGS"):
        SessionRegistry.from_env({"GAN_MAX_TRAININGS": "two"})
    with pytest.raises(SessionError, match="GAN_MAX_TRAIN_SECONDS.*positive"):
        SessionRegistry.from_env({"GAN_MAX_TRAIN_SECONDS": "-5"})


def test_checkpoints_folder_defaults_to_the_repository_and_can_be_moved(tmp_path):
    assert checkpoints_root({}) == pathlib.Path(__file__).resolve().parents[1] / "checkpoints"
    assert checkpoints_root({"GAN_CHECKPOINTS_DIR": str(tmp_path)}) == tmp_path


# -- the training cap and the session life cycle ----------------------------------------------------
def test_cap_turns_the_second_training_away_with_a_clear_message(registry):
    registry.start("alice", ring())
    assert wait_for(lambda: registry.trainer("alice").snapshot().step > 0)
    with pytest.raises(BusyError, match="busy — 1 trainings are running, try again in a minute"):
        registry.start("bob", ring())
    assert registry.trainer("bob") is None, "the turned-away session must not hold a trainer"

    registry.trainer("alice").pause()              # a paused run frees its slot...
    registry.start("bob", ring())
    assert wait_for(lambda: registry.trainer("bob").snapshot().step > 0)
    with pytest.raises(BusyError, match="busy"):   # ...and needs one again to resume
        registry.resume("alice")

    bobs = registry.trainer("bob")
    assert bobs is not registry.trainer("alice")
    registry.close("bob")                          # closing the page stops the training and frees the slot
    assert bobs.status == "stopped" and registry.running_count() == 0 and registry.session_count() == 1
    registry.close("never-seen")                   # closing an unknown session is harmless
    registry.resume("alice")
    assert registry.trainer("alice").status == "running"


def test_close_all_stops_every_training_and_removes_private_folders():
    reg = SessionRegistry(max_trainings=2, max_train_seconds=None)
    for name in ("alice", "bob"):
        reg.start(name, ring())
    folder = reg.session("alice").temp_dir()
    trainers = [reg.trainer(name) for name in ("alice", "bob")]
    assert wait_for(lambda: all(t.snapshot().step > 0 for t in trainers))
    assert reg.close_all() == 2
    assert [t.status for t in trainers] == ["stopped", "stopped"]
    assert reg.session_count() == 0 and reg.running_count() == 0 and not folder.exists()
    assert reg.close_all() == 0


def test_train_does_the_obvious_thing_and_never_discards_a_run_silently(registry):
    registry.start("alice", ring())
    first = registry.trainer("alice")
    assert registry.start("alice", ring()) == "Already training with these settings."
    assert "lr_g=0.001" in registry.start("alice", ring().replace(lr_g=1e-3))      # a live setting applies...
    assert registry.trainer("alice") is first and first.config.lr_g == 1e-3
    assert wait_for(lambda: first.snapshot().step > 0)
    first.pause()
    assert registry.start("alice", ring().replace(lr_g=1e-3)) == "Resumed." and first.status == "running"
    first.stop()
    note = registry.start("alice", ring())                 # after Stop: a new run; the old one is kept
    second = registry.trainer("alice")
    assert second is not first and second.status == "running" and "kept under 'Earlier runs'" in note
    assert [number for _, number in registry.kept_runs("alice")] == [1]
    assert wait_for(lambda: second.snapshot().step > 0)
    registry.start("alice", ring().replace(seed=4))        # a setting that shapes the run changed: new run
    assert registry.trainer("alice") is not second and second.status == "stopped"
    assert [number for _, number in registry.kept_runs("alice")] == [2, 1]
    with pytest.raises(SessionError, match="a run is training"):
        registry.bring_back("alice", 1)
    third = registry.trainer("alice")
    assert wait_for(lambda: third.snapshot().step > 0)
    third.stop()
    first_step = first.snapshot().step
    assert "Run 1 is the current run again" in registry.bring_back("alice", 1)   # from disk: kept runs hold no model
    back = registry.trainer("alice")
    assert back.run.step == first_step and back.config.lr_g == 1e-3
    assert [number for _, number in registry.kept_runs("alice")] == [3, 2]
    with pytest.raises(SessionError, match="no earlier run 7"):
        registry.bring_back("alice", 7)


def test_a_session_keeps_a_bounded_number_of_runs_and_says_which_it_drops(registry):
    from playground.web.sessions import MAX_KEPT_RUNS

    notes = []
    for seed in range(MAX_KEPT_RUNS + 2):
        registry.step("alice", ring().replace(seed=seed), None, 1, "both")
        notes.append(registry.start("alice", ring().replace(seed=seed + 100)))
        registry.trainer("alice").stop()
    assert len(registry.kept_runs("alice")) == MAX_KEPT_RUNS
    assert "Run 1 (step" in notes[MAX_KEPT_RUNS] and "was dropped" in notes[MAX_KEPT_RUNS]


def test_train_after_a_saved_stop_starts_afresh(registry, tmp_path):
    registry.step("alice", ring(), None, 2, "both")
    registry.trainer("alice").stop()
    save_session_run(registry.session("alice"), "kept", tmp_path)      # nothing unsaved: Train may start over
    stopped = registry.trainer("alice")
    registry.start("alice", ring())
    assert registry.trainer("alice") is not stopped and registry.trainer("alice").status == "running"


def test_a_failed_run_can_be_retrained_with_new_settings(registry):
    registry.start("alice", default_config("points", **TINY_TOY), points=np.zeros((10, 2)))
    trainer = registry.trainer("alice")
    assert wait_for(lambda: trainer.status == "error")
    assert "spread out" in trainer.snapshot().error
    registry.start("alice", ring())                 # an error leaves nothing to keep: Train just works
    assert wait_for(lambda: registry.trainer("alice").snapshot().step > 0)


def test_time_cap_pauses_and_refuses_to_resume():
    reg = SessionRegistry(max_trainings=2, max_train_seconds=0.5)
    try:
        reg.start("alice", ring())
        trainer = reg.trainer("alice")
        assert wait_for(lambda: any("time limit" in w for w in trainer.snapshot().warnings))
        assert trainer.status == "paused" and trainer.snapshot().wall_time >= 0.5
        with pytest.raises(SessionError, match="training time limit"):
            reg.resume("alice")
    finally:
        reg.close("alice")


def test_step_builds_a_run_from_the_current_settings(registry):
    snapshot = registry.step("alice", ring(), None, 3, "both")
    assert snapshot.step == 3
    assert registry.trainer("alice").status == "idle"
    assert registry.running_count() == 0


# -- points ------------------------------------------------------------------------------------------
def test_parse_points_reads_lines_and_names_the_bad_one():
    points = parse_points("1, 2\n\n# a comment\n3 4\n-1.5,2e-1  # trailing comment\n")
    np.testing.assert_allclose(points, [[1, 2], [3, 4], [-1.5, 0.2]])
    with pytest.raises(DataError, match="line 2"):
        parse_points("1, 2\n3, four\n")
    with pytest.raises(DataError, match="line 1"):
        parse_points("1, 2, 3")
    with pytest.raises(DataError, match="empty"):
        parse_points("   ")
    with pytest.raises(DataError, match="finite"):
        parse_points("nan, 1")


# -- saving, zips and loading ----------------------------------------------------------------------
@pytest.fixture
def stepped(registry):
    registry.step("alice", ring(), None, 2, "both")
    return registry


def test_save_zip_unpack_round_trip(stepped, tmp_path):
    from playground.engine.checkpoints import load_run

    session = stepped.session("alice")
    assert session.unsaved_steps() == 2
    with pytest.raises(ValueError, match="must not contain"):
        save_session_run(session, "../escape", tmp_path)
    folder = save_session_run(session, "my-run", tmp_path)
    assert folder == owner_checkpoints_root(tmp_path, session.owner_key()) / "my-run" and session.unsaved_steps() == 0
    archive = zip_run(folder, tmp_path)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    run = load_run(unpack_run_zip(archive, unpacked))
    assert run.step == 2 and run.config == session.trainer.run.config

    stepped.step("bob", ring(), None, 1, "both")
    stepped.session("bob").owner = session.owner_key()           # another tab of the same browser
    with pytest.raises(ValueError, match="already exists"):     # one session cannot overwrite another's run
        save_session_run(stepped.session("bob"), "my-run", tmp_path)
    save_session_run(session, "my-run", tmp_path)                # its own run it may update
    labels = [label for label, _ in checkpoint_choices(tmp_path, session.owner_key())]
    assert labels == ["bundled: unpacked", "saved: my-run"]


def test_saved_runs_are_capped_per_browser_and_for_the_server_and_a_refused_run_can_be_downloaded(
        stepped, tmp_path, monkeypatch):
    from playground.engine.checkpoints import load_run

    monkeypatch.setenv("GAN_MAX_SAVED_RUNS", "2")
    session = stepped.session("alice")
    save_session_run(session, "first", tmp_path)
    save_session_run(session, "second", tmp_path)
    with pytest.raises(NoRoomToSave, match="you have 2 saved runs"):
        save_session_run(session, "third", tmp_path)
    save_session_run(session, "first", tmp_path)                 # saving over one of its own names still works
    downloadable = save_for_download(session, "third")
    assert load_run(downloadable).step == 2
    assert [label for label, _ in checkpoint_choices(tmp_path, session.owner_key())] == ["saved: first",
                                                                                         "saved: second"]
    monkeypatch.setenv("GAN_MAX_SAVED_RUNS", "20")
    monkeypatch.setenv("GAN_MAX_SAVED_MB", "0.01")              # two small runs are over 10 KB
    stepped.step("bob", ring(), None, 1, "both")
    with pytest.raises(NoRoomToSave, match="room for saved runs is full"):
        save_session_run(stepped.session("bob"), "bobs", tmp_path)


def test_save_needs_a_run(registry, tmp_path):
    with pytest.raises(SessionError, match="no run to save"):
        save_session_run(registry.session("alice"), "fine", tmp_path)


def test_loading_over_unsaved_work_keeps_it_under_earlier_runs(stepped, tmp_path):
    from playground.engine.checkpoints import load_run

    session = stepped.session("alice")
    folder = save_session_run(session, "saved", tmp_path)
    stepped.step("alice", ring(), None, 3, "both")                 # 3 unsaved steps on top of the save
    note = stepped.adopt_run("alice", load_run(folder))
    assert "The previous run (step 5) is kept under 'Earlier runs'" in note
    assert stepped.trainer("alice").snapshot().step == 2 and session.saved_step == 2
    assert [label.endswith("step 5") for label, _ in stepped.kept_runs("alice")] == [True]
    assert stepped.adopt_run("alice", load_run(folder)) == "", "nothing unsaved: the loaded run simply replaces it"
    stepped.bring_back("alice", 1)
    back = stepped.trainer("alice").snapshot()
    assert back.step == 5 and back.history_steps.tolist() == [1, 2, 3, 4, 5] and len(back.timeline) == 1


def test_an_uploaded_run_with_a_bad_timeline_loads_without_it_and_says_why(stepped, tmp_path):
    from playground.engine.checkpoints import load_run

    folder = save_session_run(stepped.session("alice"), "mine", tmp_path)
    frames = np.zeros((1, 256, 2), np.float32)
    np.savez(folder / "timeline.npz", steps=np.array([2], dtype=object), frames=frames, every=np.int64(10))
    run = load_run(unpack_run_zip(zip_run(folder, tmp_path), tmp_path / "unpacked"), from_outside=True)
    stepped.adopt_run("bob", run)
    shown = stepped.trainer("bob").snapshot()
    assert shown.step == 2 and shown.history_steps.tolist() == [1, 2], "the rest of the run loads"
    assert any("saved timeline could not be read" in w and "Python objects" in w for w in shown.warnings)
    stepped.step("bob", ring(), None, 1, "both")                    # and it trains on
    assert stepped.trainer("bob").snapshot().step == 3


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("members, message", [
    ({"../config.json": b"{}"}, "not part of a run"),
    ({"run/evil.py": b"print(1)"}, "not part of a run"),
    ({"run/config.json": b"{}"}, "missing generator.keras"),
    ({"a/config.json": b"{}", "b/config.json": b"{}"}, "more than one run"),
])
def test_unpack_rejects_what_is_not_one_run(tmp_path, members, message):
    with pytest.raises(SessionError, match=message):
        unpack_run_zip(_zip(tmp_path / "bad.zip", members), tmp_path)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path.parent / "config.json").exists()


def test_unpack_rejects_non_zips_and_oversized_uploads(tmp_path, monkeypatch):
    (tmp_path / "run.zip").write_bytes(b"not a zip")
    with pytest.raises(SessionError, match="not a valid zip"):
        unpack_run_zip(tmp_path / "run.zip", tmp_path)
    with pytest.raises(SessionError, match="not a .zip"):
        unpack_run_zip(tmp_path / "run.tar", tmp_path)
    names = ("config.json", "generator.keras", "discriminator.keras", "optimizers.npz", "meta.json")
    bomb = _zip(tmp_path / "big.zip", {name: b"\0" * 300_000 for name in names})
    monkeypatch.setenv("GAN_MAX_EXPANDED_MB", "1")
    with pytest.raises(SessionError, match="expands beyond 1 MB"):
        unpack_run_zip(bomb, tmp_path / "out")


def test_sampler_cache_shares_one_sampler_per_checkpoint():
    bundled_ring = checkpoints_root({}) / "ring"
    cache = SamplerCache(size=1)
    first = cache.get(bundled_ring)
    assert cache.get(bundled_ring) is first
    z = np.zeros((3, first.latent_dim), np.float32)
    assert first.generate(z).shape == (3, 2)
