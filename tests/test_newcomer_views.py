"""The Train tab's plain-Python parts for a newcomer: the timeline's bounded frames, the loss chart's window and
marks, which controls apply, the one message area, experiments and the data preview."""
import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from playground.engine.config import default_config
from playground.training.snapshot import HISTORY_KEYS, empty_snapshot, frozen_array
from playground.training.timeline import Timeline, as_images
from playground.web import compare, flow, links, preview, views
from playground.web.experiments import EXPERIMENTS, experiment


def test_the_timeline_keeps_the_whole_run_in_bounded_memory():
    timeline = Timeline(first_every=10, capacity=8)
    picture = np.full((4, 8, 8, 1), 0.5, np.float32)
    for step in range(0, 2001, 5):
        timeline.add(step, picture, "image")
    steps = [step for step, _ in timeline.frames]
    assert len(steps) <= 8 and steps[0] == 5 and steps[-1] >= 2000 - timeline.every, steps
    assert steps == sorted(steps) and timeline.every > 10, "full: every other frame goes and the interval doubles"
    frame = timeline.frames[-1][1]
    assert frame.dtype == np.uint8 and not frame.flags.writeable
    assert np.allclose(as_images(frame), 0.5, atol=1 / 127.5)


def chart_snapshot(steps, marks=()):
    history = {key: frozen_array(np.linspace(0, 1, steps)) for key in HISTORY_KEYS}
    return dataclasses.replace(empty_snapshot(), history_steps=frozen_array(np.arange(1, steps + 1), np.int64),
                               history=history, marks=marks)


def test_the_loss_chart_shows_recent_steps_and_marks_what_the_user_did():
    snapshot = chart_snapshot(3000, marks=((100, "paused"), (2500, "lr_g=0.001")))
    full = json.loads(views.loss_chart_json(snapshot))
    recent = json.loads(views.loss_chart_json(snapshot, smoothing=5, window="recent"))
    assert [a["text"] for a in full["layout"]["annotations"] if a["text"] in ("paused", "lr_g=0.001")] == [
        "paused", "lr_g=0.001"]
    assert [a["text"] for a in recent["layout"]["annotations"] if a["text"] in ("paused", "lr_g=0.001")] == [
        "lr_g=0.001"], "a mark before the window is left out"
    with pytest.raises(ValueError, match="window"):
        views.loss_chart_json(snapshot, window="sideways")


def test_only_the_controls_that_apply_are_enabled_and_the_others_say_why():
    assert flow.control_states("running", True) == dict(pause=None, resume="already running", stop=None,
                                                        step="pause first", reset=None)
    stopped = flow.control_states("stopped", True)
    assert stopped["reset"] is None and "Train starts a new one" in stopped["resume"]
    assert flow.controls_hint(flow.control_states(None, False)).startswith("Pause, Stop: nothing is running")


def test_the_message_area_marks_the_field_at_fault_and_says_where_it_is():
    message = views.message_html("ema must be between 0.0 and 0.9999, got 1.5")
    assert "#ema input" in message and "under Advanced settings" in message and "gan-error" in message
    assert "<style>" not in views.message_html("busy — 2 trainings are running")
    assert views.message_html("") == "" and "&lt;b&gt;" in views.message_html("<b>", "info")


def test_each_experiment_is_a_valid_run_with_a_line_on_what_to_watch():
    for key, chosen in EXPERIMENTS.items():
        assert chosen.config().dataset == chosen.dataset and len(chosen.watch) > 40
    assert experiment("collapse").config().r1_gamma == 0 and experiment("collapse").config().ema == 0
    few, helped = experiment("few").config(), experiment("few-augment").config()
    assert few.max_images == 100 and not few.augment and few.replace(augment=True) == helped, "a pair: augment alone"
    assert few.replace(max_images=0) == default_config("digits"), "on top of the digits recipe, which keeps augment off"
    with pytest.raises(ValueError, match="unknown experiment"):
        experiment("nope")


def test_every_page_setting_is_a_link_parameter_a_compared_name_and_a_run_or_live_setting():
    page = {"dataset", *links.PARAMETERS.values()}
    assert page == set(flow.RUN_SETTINGS) | set(flow.LIVE_SETTINGS) == set(compare.NAMED_FIELDS)
    few = experiment("few").config()
    running = SimpleNamespace(status="running", config=few.replace(conditional=True), points=None, run=object())
    assert flow.train_plan(running, few, None) == "apply"
    assert flow.train_plan(running, few.replace(max_images=200), None) == "new", "other images: a new run"


def test_the_preview_shows_the_real_data():
    picture, caption = preview.data_preview("digits")
    assert picture.size[0] > picture.size[1] > 28 and "digits" in caption
    missing, why = preview.data_preview("mnist")
    assert missing is None and "downloads" in why
    drawn = np.asarray(preview.points_picture(np.array([[1.0, 1.0], [-1.0, -1.0]])))
    assert (drawn != 255).any() and drawn.shape == (220, 220, 3)


def test_the_status_line_says_what_a_run_is_conditioned_on_and_its_learning_rates():
    def line(**changes):
        config = default_config("ring", **changes)
        return views.status_line(dataclasses.replace(empty_snapshot(config), step=5, status="paused"))

    assert "conditioned on 16 k-means clusters" in line(conditional=False, clusters=16)
    assert "learning rates: G 0.002, D 0.001" in line(lr_d=1e-3, conditional=False)
    assert line(conditional=False, clusters=0).endswith("· unconditional")
    assert "conditioned" not in line(), "before the run is built, 'auto' is not decided yet"
    few = empty_snapshot(default_config("digits", max_images=100, conditional=True))
    assert views.status_line(dataclasses.replace(few, step=5)).endswith("the data's classes · max_images 100")
