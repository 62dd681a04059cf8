"""plots.py: loss curves, the 2D GAN view, image grids, GIFs and the metrics table."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from playground.web import plots
from playground.training.snapshot import HISTORY_KEYS, Snapshot, ToyView, empty_snapshot, frozen_array


def make_snapshot(k: int, seed: int = 0) -> Snapshot:
    rng = np.random.default_rng(seed)
    history = {key: frozen_array(rng.random(k)) for key in HISTORY_KEYS}
    return Snapshot(step=k, status="running", wall_time=1.0, steps_per_sec=10.0,
                    history_steps=frozen_array(np.arange(k) * 2, np.int64), history=history,
                    samples=None, sample_labels=None, toy=None)


def make_toy(seed: int = 0, m: int = 40) -> ToyView:
    rng = np.random.default_rng(seed)
    grid = np.linspace(-3.0, 3.0, 20)
    return ToyView(real=rng.normal(size=(60, 2)), fake=rng.normal(size=(m, 2)), grid_x=grid, grid_y=grid * 0.5,
                   d_grid=rng.random((20, 20)), arrows=rng.normal(size=(m, 2)))


# -- loss figure -------------------------------------------------------------------------------------
def test_loss_figure_has_four_curves_on_two_axes_and_keeps_zoom():
    figure = plots.loss_figure(make_snapshot(50))
    assert isinstance(figure, go.Figure)
    assert [t.name for t in figure.data] == ["D loss", "G loss", "D(real)", "D(fake)"]
    assert [t.yaxis for t in figure.data] == ["y", "y", "y2", "y2"]
    assert figure.layout.uirevision == "losses"
    np.testing.assert_array_equal(figure.data[0].x, np.arange(50) * 2)
    figure.to_json()  # serializable, as gradio will do


def test_loss_figure_values_and_smoothing():
    snapshot = make_snapshot(30)
    raw = plots.loss_figure(snapshot)
    np.testing.assert_allclose(raw.data[1].y, snapshot.history["g_loss"])
    smooth = plots.loss_figure(snapshot, smoothing=5)
    values = np.asarray(snapshot.history["g_loss"], np.float64)
    np.testing.assert_allclose(smooth.data[1].y[10], values[6:11].mean(), rtol=1e-6)
    np.testing.assert_allclose(smooth.data[1].y[1], values[:2].mean(), rtol=1e-6)   # partial window at start
    with pytest.raises(ValueError, match="smoothing must be a whole number >= 1"):
        plots.loss_figure(snapshot, smoothing=0)


def test_loss_figure_thins_long_histories_but_keeps_the_newest_point():
    figure = plots.loss_figure(make_snapshot(25_000))
    xs = np.asarray(figure.data[0].x)
    assert 900 <= len(xs) <= plots.MAX_CURVE_POINTS
    assert xs[0] == 0 and xs[-1] == 2 * 24_999
    assert np.all(np.diff(xs) > 0)


def test_empty_history_gives_a_labelled_empty_figure():
    figure = plots.loss_figure(empty_snapshot())
    assert "Press Train to start" in [a.text for a in figure.layout.annotations]
    assert figure.layout.xaxis.title.text == "step" and figure.layout.uirevision == "losses"
    assert all(len(t.x) == 0 for t in figure.data)


def test_loss_figure_rejects_mismatched_history():
    snapshot = make_snapshot(10)
    history = dict(snapshot.history, d_loss=frozen_array(np.zeros(9)))
    broken = Snapshot(**{**snapshot.__dict__, "history": history})
    with pytest.raises(ValueError, match="history_steps has 10 entries"):
        plots.loss_figure(broken)


def test_moving_average_matches_a_direct_loop():
    values = np.random.default_rng(3).random(40)
    expected = [values[max(0, i - 6):i + 1].mean() for i in range(40)]
    np.testing.assert_allclose(plots.moving_average(values, 7), expected)


# -- 2D views ----------------------------------------------------------------------------------------
def test_toy_figure_draws_heatmap_points_and_arrows():
    toy = make_toy()
    figure = plots.toy_figure(toy, title="ring")
    kinds = [(type(t).__name__, t.name) for t in figure.data]
    # make_toy's fakes reach past its narrow y range, so they also get off-screen markers (see below)
    assert kinds == [("Heatmap", "D(x)"), ("Scatter", "real"), ("Scatter", "generated"), ("Scatter", "G's gradient"),
                     ("Scatter", "off-screen")]
    heatmap = figure.data[0]
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)
    assert figure.data[1].marker.color != figure.data[2].marker.color
    assert figure.layout.uirevision == "toy" and figure.layout.title.text == "ring"
    assert figure.layout.yaxis.scaleanchor == "x"
    assert tuple(figure.layout.xaxis.range) == (-3.0, 3.0) and tuple(figure.layout.yaxis.range) == (-1.5, 1.5)
    figure.to_json()


def test_arrows_start_at_fake_points_point_along_the_gradient_and_are_readable():
    toy = make_toy(m=5)
    arrows = plots.toy_figure(toy).data[3]
    xy = np.stack([np.asarray(arrows.x, float), np.asarray(arrows.y, float)], axis=1).reshape(5, 7, 2)
    starts, tips = xy[:, 0], xy[:, 1]
    np.testing.assert_allclose(starts, toy.fake, rtol=1e-6)                 # traces carry float32
    assert np.all(np.isnan(xy[:, 2])) and np.all(np.isnan(xy[:, 6]))        # gaps between arrows
    drawn = tips - starts
    cos = np.sum(drawn * toy.arrows, axis=1) / np.linalg.norm(drawn, axis=1) / np.linalg.norm(toy.arrows, axis=1)
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)
    longest = np.linalg.norm(drawn, axis=1).max()
    assert longest == pytest.approx(plots.ARROW_FRACTION * 6.0, rel=1e-4)    # view span is 6 wide
    np.testing.assert_allclose(np.linalg.norm(drawn, axis=1) / longest,      # relative lengths kept
                               np.linalg.norm(toy.arrows, axis=1) / np.linalg.norm(toy.arrows, axis=1).max(),
                               rtol=1e-4)


def test_zero_gradients_draw_no_nan_and_bad_shapes_are_refused():
    toy = make_toy(m=4)
    still = ToyView(**{**toy.__dict__, "arrows": np.zeros((4, 2))})
    arrows = plots.toy_figure(still).data[3]
    assert np.isfinite(np.asarray(arrows.x, float)[::7]).all()
    with pytest.raises(ValueError, match="d_grid must have shape"):
        plots.toy_figure(ToyView(**{**toy.__dict__, "d_grid": np.zeros((3, 3))}))
    with pytest.raises(ValueError, match="one \\(dx, dy\\) per fake point"):
        plots.toy_figure(ToyView(**{**toy.__dict__, "arrows": np.zeros((3, 2))}))
    with pytest.raises(ValueError, match=r"real points must have shape \(N, 2\)"):
        plots.toy_figure(ToyView(**{**toy.__dict__, "real": np.zeros((5, 3))}))


def test_points_figure_covers_all_points_with_equal_axes():
    rng = np.random.default_rng(0)
    points, real = rng.normal(size=(50, 2)), rng.normal(size=(80, 2)) * 3
    figure = plots.points_figure(points, real=real, highlight=np.array([[10.0, -10.0]]))
    assert [t.name for t in figure.data] == ["real", "generated", "selected"]
    x_low, x_high = figure.layout.xaxis.range
    y_low, y_high = figure.layout.yaxis.range
    assert x_low < real[:, 0].min() and x_high > 10.0 and y_low < -10.0
    assert figure.layout.yaxis.scaleanchor == "x" and figure.layout.uirevision == "points"
    only = plots.points_figure(points)
    assert [t.name for t in only.data] == ["generated"]


def test_cached_base_with_highlight_matches_the_full_figure_and_grows_axes():
    rng = np.random.default_rng(1)
    points, real = rng.normal(size=(50, 2)), rng.normal(size=(80, 2))
    base = plots.points_base(points, real=real, title="t")
    inside = go.Figure(json.loads(plots.with_highlight(base, np.array([[0.1, -0.2]]))))
    assert [t.name for t in inside.data] == ["real", "generated", "selected"]
    assert list(inside.data[2].x) == pytest.approx([0.1]) and list(inside.data[2].y) == pytest.approx([-0.2])
    assert list(inside.layout.xaxis.range) == base["layout"]["xaxis"]["range"]     # inside: axes unchanged
    outside = go.Figure(json.loads(plots.with_highlight(base, np.array([[25.0, -30.0]]))))
    assert outside.layout.xaxis.range[1] > 25.0 and outside.layout.yaxis.range[0] < -30.0
    assert base["data"][-1]["name"] == "selected" and len(base["data"][-1]["x"]) == 0   # the cache is untouched


def test_empty_figure_carries_its_message():
    figure = plots.empty_figure("2D view is for 2D datasets", title="GAN view")
    assert figure.layout.annotations[0].text == "2D view is for 2D datasets"
    assert figure.layout.title.text == "GAN view"


def to_grey(values):
    """[-1, 1] → 0..255, rounding halves up, as image_grid documents."""
    return np.floor((values + 1.0) * 127.5 + 0.5)


# -- images ------------------------------------------------------------------------------------------
def test_image_grid_size_borders_and_pixel_values():
    images = np.linspace(-1.0, 1.0, 5 * 4 * 3).reshape(5, 4, 3, 1).astype(np.float32)
    grid = plots.image_grid(images, ncols=3, upscale=2, border=1, border_value=50)
    assert grid.mode == "L"
    # 3 columns of 3*2 px + 4 borders; 2 rows of 4*2 px + 3 borders.
    assert grid.size == (3 * 6 + 4, 2 * 8 + 3)
    pixels = np.asarray(grid)
    assert pixels[0, 0] == 50 and np.all(pixels[:, 0] == 50) and np.all(pixels[0, :] == 50)
    first = pixels[1:9, 1:7]
    expected = np.kron(to_grey(images[0, :, :, 0]), np.ones((2, 2)))
    np.testing.assert_array_equal(first, expected)
    second_row_first = pixels[10:18, 1:7]
    np.testing.assert_array_equal(second_row_first, np.kron(to_grey(images[3, :, :, 0]), np.ones((2, 2))))
    assert np.all(pixels[10:18, 15:21] == 50)    # 6th cell is empty: border colour
    assert pixels[1, 1] == 0 and np.asarray(plots.image_grid(images[-1:], upscale=1, border=0))[-1, -1] == 255


def test_image_grid_rgb_default_layout_and_clipping():
    rng = np.random.default_rng(0)
    images = rng.uniform(-2.0, 2.0, size=(10, 8, 8, 3)).astype(np.float32)
    grid = plots.image_grid(images)
    assert grid.mode == "RGB"
    upscale = round(84 / 8)                                   # default aims for ~84 px tiles
    assert grid.size == (4 * (8 * upscale) + 5 * 2, 3 * (8 * upscale) + 4 * 2)   # ceil(sqrt(10)) = 4 columns
    pixels = np.asarray(grid)
    np.testing.assert_array_equal(pixels[2, 2], to_grey(np.clip(images[0, 0, 0], -1, 1)))


def test_image_grid_accepts_hw_and_rejects_bad_input():
    assert plots.image_grid(np.zeros((4, 28, 28)), upscale=1, border=0).size == (56, 56)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        plots.image_grid(np.zeros((4, 28, 28, 2)))
    with pytest.raises(ValueError, match="NaN or inf"):
        plots.image_grid(np.full((2, 4, 4, 1), np.nan))
    with pytest.raises(ValueError, match="upscale must be a whole number >= 1"):
        plots.image_grid(np.zeros((2, 4, 4, 1)), upscale=0)


def test_frames_strip_and_gif_round_trip(tmp_path):
    frames = [plots.image_grid(np.full((1, 6, 6, 1), v, np.float32), upscale=1, border=1)
              for v in np.linspace(-1, 1, 5)]
    strip = plots.frames_strip(frames, gap=2)
    assert strip.size == (5 * 8 + 4 * 2, 8) and strip.mode == "L"
    assert np.asarray(strip)[4, 8 + 2 + 4] == np.asarray(frames[1])[4, 4]
    path = plots.frames_to_gif(frames, tmp_path / "walk.gif", duration_ms=50)
    assert path == tmp_path / "walk.gif"
    with Image.open(path) as gif:
        assert gif.n_frames == 5
        assert gif.info["loop"] == 0 and gif.info["duration"] == 50


def test_gif_and_strip_reject_bad_frames(tmp_path):
    frame = Image.new("L", (4, 4))
    with pytest.raises(ValueError, match="non-empty list"):
        plots.frames_to_gif([], tmp_path / "a.gif")
    with pytest.raises(ValueError, match="one size and mode"):
        plots.frames_strip([frame, Image.new("L", (5, 4))])
    with pytest.raises(ValueError, match="must end in .gif"):
        plots.frames_to_gif([frame], tmp_path / "a.png")
    with pytest.raises(ValueError, match="does not exist"):
        plots.frames_to_gif([frame], tmp_path / "missing" / "a.gif")


# -- metrics -----------------------------------------------------------------------------------------
def test_metrics_markdown_formats_known_and_unknown_metrics():
    text = plots.metrics_markdown({"fcd": 3.14159, "confident_share": 0.834, "classes_covered": 9,
                                   "modes_covered": 6, "num_modes": 8, "high_quality_share": 0.5, "ratio": 1.2345,
                                   "step": 12345})
    assert "| FCD | 3.14 |" in text
    assert "| Confident samples | 83% |" in text
    assert "| Digit classes | 9 of 10 |" in text
    assert "| Modes covered | 6 of 8 |" in text
    assert "| Measured at step | 12,345 |" in text
    assert "| ratio | 1.234 |" in text or "| ratio | 1.235 |" in text
    assert "num_modes" not in text and "num modes" not in text
    assert plots.metrics_markdown({}) == ""
    assert "| FCD | nan |" in plots.metrics_markdown({"fcd": float("nan")})


# -- GAN-Lab additions (lab_plots.py) -----------------------------------------------------------------
def test_manifold_mesh_draws_every_row_and_column_of_each_class():
    mesh = np.random.default_rng(0).normal(size=(2, 3, 4, 2))
    toy = ToyView(**{**make_toy().__dict__, "manifold": mesh})
    trace = next(t for t in plots.toy_figure(toy).data if t.name == "manifold")
    xs = np.asarray(trace.x, np.float64)
    # 2 classes x (3 rows of 4 points + 4 columns of 3 points), each polyline closed by one NaN gap.
    assert xs.size == 2 * (3 * 5 + 4 * 4) and np.isnan(xs).sum() == 2 * (3 + 4)
    np.testing.assert_allclose(xs[:4], mesh[0, 0, :, 0], rtol=1e-6)
    line = plots.toy_figure(ToyView(**{**make_toy().__dict__, "manifold": mesh[:, :1]}))   # a 1-d latent
    assert np.isnan(np.asarray(next(t for t in line.data if t.name == "manifold").x, np.float64)).sum() == 2


def test_samples_outside_the_view_get_a_marker_at_its_edge():
    inside = ToyView(**{**make_toy().__dict__, "fake": np.zeros((40, 2))})
    assert "off-screen" not in [t.name for t in plots.toy_figure(inside).data]
    fake = np.zeros((40, 2))
    fake[0] = [50.0, 0.0]
    figure = plots.toy_figure(ToyView(**{**inside.__dict__, "fake": fake}))
    marker = next(t for t in figure.data if t.name == "off-screen")
    assert len(marker.x) == 1 and marker.x[0] <= figure.layout.xaxis.range[1] and "50" in marker.text[0]


def test_metric_history_adds_a_third_panel_under_the_losses():
    snapshot = make_snapshot(20)
    assert "yaxis3" not in plots.loss_figure(snapshot).to_plotly_json()["layout"]
    with_metrics = Snapshot(**{**snapshot.__dict__, "metric_steps": frozen_array([10, 20], np.int64),
                               "metric_history": {"js_divergence": frozen_array([np.log(2), 0.0]),
                                                  "mode_coverage": frozen_array([0.25, 1.0])}})
    figure = plots.loss_figure(with_metrics)
    js = next(t for t in figure.data if t.name.startswith("JS"))
    assert js.yaxis == "y3" and list(js.y) == pytest.approx([1.0, 0.0])     # shown as a share of log 2
    assert figure.layout.yaxis3.domain[1] < figure.layout.yaxis2.domain[0]
