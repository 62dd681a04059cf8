"""The page's pure helpers (playground.web.views): checks on values that reach a handler unchecked, and the text and
pictures built from snapshots. No server needed; the same checks also run through the API in test_ui.py."""
import pytest
from PIL import Image

from playground.web import views
from playground.web.sessions import SessionError
from playground.training.snapshot import empty_snapshot


@pytest.mark.parametrize("values", [[0.0, 4.0, -4.0], [1, 2, 3]])
def test_sliders_in_range_pass_as_floats(values):
    assert views.checked_sliders("raw", values) == [float(v) for v in values]


@pytest.mark.parametrize("mode, values, field", [
    ("raw", [0.0, 4.5], "z[1]"), ("pca", [float("nan")], "z[0]"), ("raw", [True], "z[0]"),
    ("raw", ["1"], "z[0]"), ("sideways", [0.0], "mode")])
def test_bad_slider_values_name_the_field_and_range(mode, values, field):
    with pytest.raises(SessionError, match=field.replace("[", r"\[").replace("]", r"\]")):
        views.checked_sliders(mode, values)


def test_whole_numbers_accept_integral_floats_only():
    assert views.whole_number("seed", 7.0) == 7
    for bad in (7.5, True, "7", None):
        with pytest.raises(SessionError, match="seed must be a whole number"):
            views.whole_number("seed", bad)


def test_class_label_is_checked_against_the_generator():
    class Conditional:
        num_classes, label_kind = 10, "class"

    class Unconditional:
        num_classes, label_kind = 0, "class"

    class SelfConditioned:
        num_classes, label_kind = 4, "cluster"

    assert views.class_label(Conditional(), 9) == 9 and views.class_label(Conditional(), None) == 0
    assert views.class_label(Unconditional(), 5) is None
    with pytest.raises(SessionError, match="class must be between 0 and 9"):
        views.class_label(Conditional(), 10)
    with pytest.raises(SessionError, match="cluster must be between 0 and 3"):
        views.class_label(SelfConditioned(), 4)
    assert views.label_kinds(Conditional()) == "classes" and views.label_kinds(SelfConditioned()) == "k-means clusters"


def test_status_line_reports_step_speed_and_error():
    assert "press **Train**" in views.status_line(None)
    snapshot = empty_snapshot()
    starting = views.status_line(snapshot, live_status="running")
    assert "starting" in starting
    broken = snapshot.__class__(**{**snapshot.__dict__, "status": "error", "step": 1234, "error": "bad data"})
    text = views.status_line(broken)
    assert "step 1,234" in text and "**Error:** bad data" in text


def test_inline_image_is_a_png_data_uri_with_its_caption():
    html = views.inline_image_html(Image.new("L", (8, 6)), "two digits")
    assert 'src="data:image/png;base64,' in html and 'width="8" height="6"' in html
    assert "<figcaption>two digits</figcaption>" in html
