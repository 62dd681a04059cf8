"""playground.training.record: what a saved run keeps beside its weights, and how each part is checked when it
comes back from a file someone uploaded. NumPy only (no TensorFlow): real bytes, real npz archives."""
import io
import json

import numpy as np
import pytest

from playground.engine.run_files import MAX_RECORD_FILE_BYTES
from playground.training.history import History
from playground.training.record import (TIMELINE_FILE, new_metric_history, read_timeline, restored, saved_files,
                                        saved_record)
from playground.training.timeline import CAPACITY, Timeline

IMAGE_FRAME = (6, 8, 8, 1)      # 6 tiny grey images per frame


def _image_timeline(frames: int = 5) -> Timeline:
    timeline = Timeline(first_every=10)
    pictures = np.random.default_rng(0).uniform(-1, 1, (frames, *IMAGE_FRAME)).astype(np.float32)
    for i, picture in enumerate(pictures):
        timeline.add(10 * (i + 1), picture, "image")
    return timeline


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_a_timeline_round_trips_through_its_file_and_grows_on():
    timeline = _image_timeline()
    data = saved_files(timeline)[TIMELINE_FILE]
    back = read_timeline(data, "image", IMAGE_FRAME)
    assert [step for step, _ in back.frames] == [10, 20, 30, 40, 50] and back.every == timeline.every
    for (_, original), (_, loaded) in zip(timeline.frames, back.frames):
        assert loaded.dtype == np.uint8 and not loaded.flags.writeable
        np.testing.assert_array_equal(original, loaded)
    back.add(55, np.zeros(IMAGE_FRAME, np.float32), "image")          # not due yet: every 10 steps
    back.add(60, np.zeros(IMAGE_FRAME, np.float32), "image")
    assert [step for step, _ in back.frames][-2:] == [50, 60]
    assert saved_files(Timeline()) == {}, "an empty timeline writes no file"


def test_a_full_timeline_file_stays_bounded():
    timeline = _image_timeline(frames=3 * CAPACITY)
    arrays = timeline.arrays()
    assert len(arrays["steps"]) <= CAPACITY and arrays["frames"].shape[1:] == IMAGE_FRAME
    assert len(saved_files(timeline)[TIMELINE_FILE]) < arrays["frames"].nbytes + 4096


GOOD_STEPS, GOOD_FRAMES = np.array([10, 20], np.int64), np.zeros((2, *IMAGE_FRAME), np.uint8)


@pytest.mark.parametrize("data, message", [
    (_npz(steps=GOOD_STEPS, frames=GOOD_FRAMES.astype(np.float32), every=np.int64(10)), "frames must be uint8"),
    (_npz(steps=GOOD_STEPS, frames=np.zeros((2, 6, 9, 8, 1), np.uint8), every=np.int64(10)), r"\(2, 6, 8, 8, 1\)"),
    (_npz(steps=np.arange(1, CAPACITY + 2), frames=np.zeros((CAPACITY + 1, *IMAGE_FRAME), np.uint8),
          every=np.int64(10)), f"1 to {CAPACITY}"),
    (_npz(steps=np.array([20, 10]), frames=GOOD_FRAMES, every=np.int64(10)), "only go up"),
    (_npz(steps=np.array([0, 10]), frames=GOOD_FRAMES, every=np.int64(10)), "from 1"),
    (_npz(steps=GOOD_STEPS, frames=GOOD_FRAMES, every=np.int64(0)), "from 1, got 0"),
    (_npz(steps=np.array([10, 20], dtype=object), frames=GOOD_FRAMES, every=np.int64(10)), "Python objects"),
    (_npz(steps=GOOD_STEPS, frames=GOOD_FRAMES), "exactly the arrays"),
    (_npz(steps=GOOD_STEPS, frames=GOOD_FRAMES, every=np.int64(10), more=GOOD_STEPS), "exactly the arrays"),
    (b"PK\x03\x04 not really a zip", "not a readable NumPy archive"),
    (b"\x80\x04 a pickle", "a pickle is never loaded"),
    (_npz(steps=GOOD_STEPS)[:40], "not a readable NumPy archive"),
    (b"\0" * (MAX_RECORD_FILE_BYTES + 1), "over 50 MB"),
])
def test_a_bad_timeline_file_is_refused_with_a_reason(data, message):
    with pytest.raises(ValueError, match=message):
        read_timeline(data, "image", IMAGE_FRAME)


def test_a_bare_array_or_a_truncated_member_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, GOOD_FRAMES)
    with pytest.raises(ValueError, match="one bare array"):
        read_timeline(buffer.getvalue(), "image", IMAGE_FRAME)
    points = _npz(steps=GOOD_STEPS, frames=np.full((2, 4, 2), np.inf, np.float32), every=np.int64(10))
    with pytest.raises(ValueError, match="NaN or infinite"):
        read_timeline(points, "toy", (4, 2))


def _record() -> dict:
    history, metrics = History(), new_metric_history()
    for step in (1, 2, 3):
        history.add(step, {"d_loss": 0.5 * step, "g_loss": np.nan})
    for step in (10, 20):
        metrics.add(step, {"js_divergence": 0.1 * step, "mode_coverage": 0.5})
    return json.loads(json.dumps(saved_record(history, metrics, 12.5, [(0, "paused")])))   # as meta.json holds it


def test_the_record_round_trips_with_its_metric_history():
    kept = restored(_record(), {}, "image", IMAGE_FRAME)
    assert kept.problems == [] and kept.timeline is None and kept.wall_time == 12.5 and kept.marks == [(0, "paused")]
    steps, values = kept.history.export()
    assert steps.tolist() == [1, 2, 3] and values["d_loss"].tolist() == [0.5, 1.0, 1.5]
    assert np.isnan(values["g_loss"]).all()
    metric_steps, metric_values = kept.metric_history.export()
    assert metric_steps.tolist() == [10, 20] and np.allclose(metric_values["js_divergence"], [1.0, 2.0])


@pytest.mark.parametrize("change, part", [
    (lambda r: r.update(metric_steps=[20, 10]), "saved metric history"),
    (lambda r: r["metric_history"].update(js_divergence=[1e309, 0.1]), "saved metric history"),   # inf from JSON
    (lambda r: r["metric_history"].update(mode_coverage=["x", 1]), "saved metric history"),
    (lambda r: r.update(metric_steps=list(range(1000))), "saved metric history"),
    (lambda r: r.update(history_steps=[1, 2, 3.5]), "saved history"),
    (lambda r: r.update(wall_time="soon"), "saved history"),
    (lambda r: r.update(marks=[["a", "b"]]), "saved history"),
])
def test_a_bad_part_of_the_record_is_left_out_and_the_rest_kept(change, part):
    record = _record()
    change(record)
    files = {TIMELINE_FILE: saved_files(_image_timeline())[TIMELINE_FILE]}
    kept = restored(record, files, "image", IMAGE_FRAME)
    assert len(kept.problems) == 1 and f"This run's {part} could not be read" in kept.problems[0]
    assert "it loads without it" in kept.problems[0]
    assert (kept.metric_history is None) == (part == "saved metric history")
    assert (kept.history is None) == (part == "saved history")
    assert len(kept.timeline.frames) == 5, "the timeline does not depend on the record's other parts"


def test_a_record_that_is_not_a_table_says_so_once():
    kept = restored(["not", "a", "record"], {}, "toy", (4, 2))
    assert kept.history is None and len(kept.problems) == 1 and "saved history" in kept.problems[0]
    assert restored({}, {}, "toy", (4, 2)).problems == [], "an old run without a record loads quietly"
