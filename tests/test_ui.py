"""The app's API for real: a Gradio server on 127.0.0.1, gradio_client sessions, tiny real trainings.

Timer ticks do not fire under gradio_client, so progress is read from the /run_status endpoint.
"""
import base64
import html
import io
import json
import pathlib
import re
import shutil
import socket
import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from playground.web.sessions import SessionRegistry

# dataset, loss, width, latent_dim, batch_size, lr_g, lr_d, d_steps, seed, ema, r1_gamma, augment, conditional,
# clusters, points, upload
TINY_RING = ["ring", "standard", 16, 4, 32, 1e-3, 1e-3, 1, 3, 0.0, 0.0, False, "auto", 0, 0, "", None]
SLIDERS = [0.0] * 6
BUNDLED = pathlib.Path(__file__).resolve().parents[1] / "checkpoints"


def prepared_checkpoints(tmp_path_factory, _made={}):
    """Copies of the bundled demo checkpoints (digits, ring) in a temp folder, so runs the tests save land
    there, not in the repository. Made once per test run and shared with test_ui_e2e."""
    if "root" not in _made:
        root = tmp_path_factory.mktemp("checkpoints")
        for name in ("digits", "ring"):
            assert (BUNDLED / name / "meta.json").is_file(), f"bundled checkpoint checkpoints/{name} is missing"
            shutil.copytree(BUNDLED / name, root / name)
        _made["root"] = root
    return _made["root"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from playground.web.app import build_demo

    # Gradio notices a closed session at its next heartbeat (default every 15 s); 1 s keeps the test short.
    patcher = pytest.MonkeyPatch()
    patcher.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")
    root = prepared_checkpoints(tmp_path_factory)
    registry = SessionRegistry(max_trainings=1, max_train_seconds=None)
    demo = build_demo(registry=registry, checkpoints_dir=root)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    yield dict(url=url, registry=registry, root=root)
    registry.close_all()
    demo.close()
    patcher.undo()


@pytest.fixture
def client(server):
    c = Client(server["url"], verbose=False)
    yield c
    c.predict(api_name="/stop") if c.predict(api_name="/run_status")["status"] == "running" else None
    c.close()


def said(result, pattern):
    """An action reports problems in its area's message area (its last output), not as a Gradio error."""
    return re.search(pattern, html.unescape(result[-1])) and "gan-error" in result[-1]


def status(client):
    return client.predict(api_name="/run_status")


def test_train_pause_resume_stop(client):
    client.predict(*TINY_RING, api_name="/train")
    assert wait_for(lambda: status(client)["step"] >= 5), status(client)
    paused = client.predict(api_name="/pause")
    assert paused[0].startswith("**paused**")
    frozen = status(client)["step"]
    refused = client.predict(1e-3, -5.0, 1, api_name="/set_hyperparams")      # live edits are validated too
    assert "lr_d must be between" in refused and "#lr-d input" in refused, "the message marks the field at fault"
    client.predict(5e-4, 4e-4, 2, api_name="/set_hyperparams")
    assert (status(client)["lr_g"], status(client)["lr_d"], status(client)["d_steps"]) == (5e-4, 4e-4, 2)
    time.sleep(1.0)
    assert status(client) == {**status(client), "status": "paused", "step": frozen}, "paused must not move"
    client.predict(api_name="/resume")
    assert wait_for(lambda: status(client)["step"] > frozen + 5)
    stopped = client.predict(api_name="/stop")
    assert stopped[0].startswith("**stopped**") and status(client)["status"] == "stopped"
    again = client.predict(*TINY_RING, api_name="/train")            # after Stop, Train starts a new run...
    assert "kept under &#x27;Earlier runs&#x27;" in again[-1], "...and keeps the stopped one"
    assert wait_for(lambda: status(client)["status"] == "running")


@pytest.mark.parametrize("index, value, field", [(5, -1.0, "lr_g"), (4, 0, "batch_size"), (2, 1000, "width"),
                                                 (7, 11, "d_steps"), (9, 1.5, "ema"), (8, -1, "seed"),
                                                 (10, -0.5, "r1_gamma"), (13, -1, "clusters"),
                                                 (14, 50, "max_images")])
def test_bad_settings_through_the_api_name_the_field(client, index, value, field):
    settings = list(TINY_RING)
    settings[index] = value
    assert said(client.predict(*settings, api_name="/train"), field)
    assert status(client)["status"] == "none", "a rejected setting must not start anything"


def test_choosing_a_dataset_fills_in_its_recipe(server):
    from playground.engine.config import default_config
    from playground.web.app import PlaygroundUI

    ui = PlaygroundUI(server["registry"], server["root"])
    for dataset in ("ring", "digits"):
        recipe = default_config(dataset)
        loss, *_, ema, r1_gamma, _, _, clusters, max_images, _, _ = ui.defaults_for(dataset)
        assert (loss, ema, r1_gamma, clusters, max_images) == (recipe.loss, recipe.ema, recipe.r1_gamma,
                                                               recipe.clusters, 0)
    r1_field, clusters_field = 9, 12
    assert ui.defaults_for("digits")[r1_field] > 0, "R1 is on for images"
    assert ui.defaults_for("ring")[r1_field] == 0, "and off for the toys"
    assert ui.defaults_for("ring")[clusters_field] > 0, "the ring trains self-conditioned"
    assert ui.defaults_for("grid")[clusters_field] == 0, "the grid does not"


def test_a_link_fills_every_setting_and_a_plain_visit_leaves_them_all(server):
    from types import SimpleNamespace

    from playground.web.app import SETTING_OUTPUTS, PlaygroundUI

    ui = PlaygroundUI(server["registry"], server["root"])
    plain = ui.lab.settings_from_link(SimpleNamespace(query_params={}))
    assert len(plain) == SETTING_OUTPUTS + 1 and plain[-1] == ""
    few = ui.lab.settings_from_link(SimpleNamespace(query_params={"experiment": "few"}))
    assert len(few) == SETTING_OUTPUTS + 1 and few[0] == "digits" and few[SETTING_OUTPUTS - 1] == 100


def test_bad_points_name_the_line(client):
    settings = list(TINY_RING)
    settings[0], settings[15] = "points", "0, 0\n1, one\n"
    assert said(client.predict(*settings, api_name="/train"), "line 2")


def test_two_sessions_do_not_see_each_others_runs_and_share_the_cap(server, client):
    other = Client(server["url"], verbose=False)
    try:
        client.predict(*TINY_RING, api_name="/train")
        assert wait_for(lambda: status(client)["step"] > 0)
        assert status(other) == {"status": "none", "step": 0}
        assert said(other.predict("live", "raw", 0, 1.0, None, *SLIDERS, api_name="/explore_render"), "no model yet")
        assert said(other.predict(*TINY_RING, api_name="/train"), "busy — 1 trainings are running, try again")
        client.predict(api_name="/pause")
        other.predict(*TINY_RING, api_name="/train")          # the slot is free again
        assert wait_for(lambda: status(other)["step"] > 0)
        assert status(client)["status"] == "paused"
        other.predict(api_name="/stop")
    finally:
        other.close()


def test_closing_the_session_stops_its_training(server):
    registry, c = server["registry"], Client(server["url"], verbose=False)
    c.predict(*TINY_RING, api_name="/train")
    assert wait_for(lambda: status(c)["step"] > 0)
    trainer = registry.trainer(c.session_hash)
    assert trainer.status == "running"
    c.close()                                       # ends the heartbeat: the server runs demo.unload
    assert wait_for(lambda: trainer.status == "stopped", timeout=60)
    assert registry.running_count() == 0


def _pixels(picture):
    """Pixels of an image file path, or of the inline <img src="data:image/png;base64,..."> the page shows."""
    match = re.search(r'src="data:image/png;base64,([^"]+)"', picture)
    source = io.BytesIO(base64.b64decode(match.group(1))) if match else picture
    return np.asarray(Image.open(source), dtype=np.int16)


def test_explore_sliders_render_a_new_image(server, client):
    digits = str(server["root"] / "digits")
    *sliders, classes, image, plot, info, message = client.predict(digits, "raw", 0, 1.0, None, *SLIDERS,
                                                                   api_name="/explore_refresh")
    assert "10 classes" in info and classes["visible"] and image["visible"] and not plot["visible"] and message == ""
    start = [s["value"] for s in sliders]
    assert start[0] != 0.0, "raw sliders start at the seed's own z values"
    first, *_ = client.predict(digits, "raw", 0, 1.0, 3, *start, api_name="/explore_render")
    moved = [start[0] + 2.0] + start[1:]
    second, *_ = client.predict(digits, "raw", 0, 1.0, 3, *moved, api_name="/explore_render")
    again, *_ = client.predict(digits, "raw", 0, 1.0, 3, *moved, api_name="/explore_render")
    assert _pixels(first).shape == (224, 224)
    assert np.abs(_pixels(first) - _pixels(second)).sum() > 0, "moving a slider must change the image"
    np.testing.assert_array_equal(_pixels(second), _pixels(again))   # same z, same image
    *_, pca_info, _ = client.predict(digits, "pca", 0, 1.0, 3, *SLIDERS, api_name="/explore_refresh")
    assert "image generator" in pca_info


def test_explore_2d_checkpoint_highlights_the_current_point(server, client):
    ring = str(server["root"] / "ring")
    *_, image, plot, info, _ = client.predict(ring, "raw", 0, 1.0, None, *SLIDERS, api_name="/explore_refresh")
    assert "2D generator" in info and plot["visible"] and not image["visible"]
    names = [trace.get("name") for trace in json.loads(plot["value"])["data"]]
    assert names == ["generated", "selected"]


def test_a_self_conditioned_live_ring_is_explored_one_cluster_at_a_time(server, client):
    settings = list(TINY_RING)
    settings[13] = 4                                                    # clusters
    client.predict("both", 3, *settings, api_name="/step")
    *_, classes, image, plot, info, _ = client.predict("live", "raw", 0, 1.0, None, *SLIDERS,
                                                       api_name="/explore_refresh")
    assert "4 k-means clusters" in info and plot["visible"] and not image["visible"]
    assert classes["label"] == "cluster" and classes["visible"] and len(classes["choices"]) == 4
    _, figure, _ = client.predict("live", "raw", 0, 1.0, 3, *SLIDERS, api_name="/explore_render")
    assert [trace.get("name") for trace in json.loads(figure)["data"]][-1] == "selected"
    client.predict(*TINY_RING, api_name="/reset")


def test_explore_refuses_paths_that_are_not_listed(server, client):
    for source in ("/etc", str(server["root"] / ".." / "digits"), str(server["root"])):
        assert said(client.predict(source, "raw", 0, 1.0, None, *SLIDERS, api_name="/explore_render"),
                    "not one of the listed checkpoints")


@pytest.mark.parametrize("mode, sliders, message", [
    ("raw", [9.0] + SLIDERS[1:], r"slider z\[0\] must be a number from -4 to 4, got 9.0"),
    ("raw", SLIDERS[:5] + ["a"], r"slider z\[5\] must be a number from -4 to 4, got 'a'"),
    ("sideways", SLIDERS, "mode must be 'raw' or 'pca'"),
])
def test_slider_renders_check_the_raw_values_gradio_no_longer_checks(server, client, mode, sliders, message):
    # The slider event skips Gradio's pre-processing (its bounds checks) for speed; the handler checks instead.
    assert said(client.predict(str(server["root"] / "ring"), mode, 0, 1.0, None, *sliders,
                               api_name="/explore_render"), message)


def test_a_bad_explore_input_is_said_in_the_tabs_message_area_and_the_next_action_clears_it(server, client):
    """No gr.Error (a toast and an "Error" overlay on every output): the message, its field outlined, the other
    outputs left as they were."""
    ring = str(server["root"] / "ring")
    *sliders, classes, image, plot, info, message = client.predict(ring, "raw", -1, 1.0, None, *SLIDERS,
                                                                   api_name="/explore_refresh")
    assert said([message], r"seed must be 0 or more") and "#explore-seed input" in message
    assert all(o["__type__"] == "update" for o in (image, plot, info)), "a refused action leaves the others alone"
    assert client.predict(ring, "raw", 1, 1.0, None, *SLIDERS, api_name="/explore_refresh")[-1] == ""


def test_interpolation_gif_and_scrubbing(server, client):
    digits = str(server["root"] / "digits")
    strip, gif, frame, frame_image, _, _ = client.predict(digits, 0, 5, "spherical", 6, 1.0, 2,
                                                          api_name="/interpolate")
    with Image.open(gif["value"]) as animation:
        assert animation.format == "GIF" and animation.n_frames >= 2 and animation.info.get("loop") == 0
    assert _pixels(strip["value"]).shape[1] > 5 * _pixels(frame_image["value"]).shape[1]
    assert frame["maximum"] == 5
    last, *_ = client.predict(5, api_name="/scrub")
    assert np.abs(_pixels(last) - _pixels(frame_image["value"])).sum() > 0
    with pytest.raises(AppError, match="linear"):                            # Gradio's radio guards its choices
        client.predict(digits, 0, 5, "wobbly", 6, 1.0, 2, api_name="/interpolate")
    with pytest.raises(AppError, match="greater than maximum value 32"):    # Gradio's slider guards the range
        client.predict(digits, 0, 5, "linear", 10_000, 1.0, 2, api_name="/interpolate")


def test_save_download_and_load_back(server, client):
    run = client.predict("both", 3, *TINY_RING, api_name="/step")
    assert "step 3" in run[0]
    assert said(client.predict("../oops", api_name="/save"), "must not contain")
    archive, checkpoint_list, _, saved_note = client.predict("api-run", api_name="/save")
    assert "Saved as &#x27;api-run&#x27;" in saved_note
    assert archive.endswith("api-run.zip")
    saved = dict(checkpoint_list["choices"])["saved: api-run"]       # in this visitor's own folder
    assert pathlib.Path(saved).parent.parent == server["root"] / "user"
    with pytest.MonkeyPatch.context() as env:                          # beyond the cap: a zip, not a saved run
        env.setenv("GAN_MAX_SAVED_RUNS", "1")
        archive_only, capped_list, _, capped_note = client.predict("over-cap", api_name="/save")
    assert "Not kept on the server: you have 1 saved run, as many as" in html.unescape(capped_note)
    assert archive_only.endswith("over-cap.zip") and "saved: over-cap" not in dict(capped_list["choices"])

    client.predict("both", 2, *TINY_RING, api_name="/step")      # 2 unsaved steps now: kept, never dropped
    loaded = client.predict(handle_file(archive), api_name="/load_zip")
    assert loaded[0] == "ring" and "step 3" in loaded[15]
    assert "The previous run (step 5) is kept under &#x27;Earlier runs&#x27;" in loaded[-1]
    assert status(client) == {**status(client), "status": "idle", "step": 3}
    assert "step 3 (snapshot 1 of 1)" in client.predict(100, api_name="/timeline_frame")[0], "its timeline came back"
    client.predict(*TINY_RING, api_name="/train")                 # continues the loaded run
    assert wait_for(lambda: status(client)["step"] > 3)


def test_uploaded_images_train(client, tmp_path):
    settings = ["upload", "standard", 8, 8, 16, 2e-3, 2e-3, 1, 0, 0.0, 0.0, False, "auto", 10, 0, "", None]
    assert said(client.predict(*settings, api_name="/train"), "choose a .zip of images or an .npz file")
    pictures = np.random.default_rng(0).integers(0, 256, size=(32, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "mine.npz", images=pictures)
    settings[-1] = handle_file(str(tmp_path / "mine.npz"))
    run = client.predict("both", 1, *settings, api_name="/step")
    assert "step 1" in run[0] and status(client)["dataset"].endswith("mine.npz")
    assert run[3]["visible"], "image datasets show the sample grid"


def test_a_listed_checkpoint_loads_through_the_api_and_trains_on(server, client):
    ring = server["root"] / "ring"
    saved_step = json.loads((ring / "meta.json").read_text())["step"]
    loaded = client.predict(str(ring), api_name="/load")
    assert loaded[0] == "ring" and f"step {saved_step:,}" in loaded[15]
    assert status(client) == {**status(client), "status": "idle", "step": saved_step, "dataset": "ring"}
    stepped = client.predict("both", 2, *TINY_RING, api_name="/step")    # continues the loaded run
    assert f"step {saved_step + 2:,}" in stepped[0] and status(client)["step"] == saved_step + 2
    client.predict(*TINY_RING, api_name="/reset")


def test_leaving_the_train_tab_turns_off_its_timer():
    """Leaving the Train tab turns its refresh timer off: that event's one output must be the Timer (it was the
    controls' hint after the Train tab gained outputs, and every visit to Explore raised a TypeError)."""
    import gradio as gr

    from playground.web.app import build_demo

    demo = build_demo(SessionRegistry())
    leaving = [f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "show_explore_tab"]
    assert len(leaving) == 1 and [type(o) for o in leaving[0].outputs] == [gr.Timer]
