"""Figures and images for the UI: loss curves, the GAN-Lab style 2D view, sample grids, GIFs.

Only numpy, plotly and PIL — no TensorFlow — so drawing never waits on the trainer. The live figures
are rebuilt about twice a second, so they are built from plain dicts on go.Figure with hand-laid axes
(make_subplots alone was measured at ~34 ms per call) and long histories are thinned.
Every live figure keeps a constant `layout.uirevision`, which tells plotly.js to keep the user's
zoom/pan and legend clicks when the figure is replaced.
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from playground.training.snapshot import Snapshot, ToyView
from playground.web import lab_plots

MAX_CURVE_POINTS = 1000
# Trace data is sent as float32: plotly base64-encodes numpy arrays, so this halves what every tick ships
# to the browser (a 512-point toy view: ~190 KB as float64) with no visible difference.
# GAN Lab's palette: green = real, purple = fake; the heatmap uses the matching diverging scale.
REAL_COLOR = "#1b7837"
FAKE_COLOR = "#762a83"
ARROW_COLOR = "rgba(20, 20, 20, 0.75)"
LOSS_COLORS = {"d_loss": "#1f77b4", "g_loss": "#ff7f0e", "d_real": REAL_COLOR, "d_fake": FAKE_COLOR}
LOSS_NAMES = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(real)", "d_fake": "D(fake)"}
# The longest gradient arrow is drawn this fraction of the view's width; the rest keep their relative length.
ARROW_FRACTION = 0.08
_MARGIN = dict(l=50, r=20, t=40, b=40)
# Plain white plot area set by hand: a named template such as "plotly_white" is re-validated for every figure,
# which costs more than the rest of a loss figure (docs/performance.md).
_GRID = dict(gridcolor="#e6e6e6", zerolinecolor="#cccccc")


# -- loss curves -------------------------------------------------------------------------------------
def loss_figure(snapshot: Snapshot, smoothing: int = 1, max_points: int = MAX_CURVE_POINTS) -> go.Figure:
    """Losses on top, mean D outputs on real and fake below, against the training step.

    smoothing: width of a trailing moving average in history entries (1 = raw values).
    """
    if not isinstance(smoothing, int) or isinstance(smoothing, bool) or smoothing < 1:
        raise ValueError(f"smoothing must be a whole number >= 1 (1 = no smoothing), got {smoothing!r}")
    steps = np.asarray(snapshot.history_steps)
    keep = _thin_indices(steps.size, max_points)
    traces = []
    for key, axis in (("d_loss", "y"), ("g_loss", "y"), ("d_real", "y2"), ("d_fake", "y2")):
        values = moving_average(_history_series(snapshot, key, steps.size), smoothing)
        traces.append(go.Scatter(x=steps[keep], y=values[keep].astype(np.float32), yaxis=axis, mode="lines", name=LOSS_NAMES[key],
                                 line=dict(color=LOSS_COLORS[key], width=1.5)))
    metric_traces = lab_plots.metric_traces(snapshot)
    layout = lab_plots.with_metric_panel(_loss_layout()) if metric_traces else _loss_layout()
    figure = go.Figure(data=traces + metric_traces, layout=layout)
    if steps.size == 0:
        # Same axes, titles and legend as a live figure, but no meaningless tick numbers.
        figure.update_layout(xaxis_showticklabels=False, yaxis_showticklabels=False, yaxis2_showticklabels=False)
        _with_message(figure, "Press Train to start", y=0.7)
    return figure


def _loss_layout() -> dict:
    return dict(
        uirevision="losses", height=380, margin=_MARGIN, plot_bgcolor="white",
        legend=dict(orientation="h", y=1.12, x=0),
        xaxis=dict(title="step", anchor="y2", **_GRID),
        yaxis=dict(title="loss", domain=[0.42, 1.0], **_GRID),
        # Not fixed to [0, 1]: with WGAN-GP or hinge losses D outputs raw scores, not probabilities.
        yaxis2=dict(title="mean D output", domain=[0.0, 0.32], **_GRID),
    )


def _history_series(snapshot: Snapshot, key: str, length: int) -> np.ndarray:
    if key not in snapshot.history:
        raise ValueError(f"snapshot history has no {key!r}; it has {sorted(snapshot.history)}")
    values = np.asarray(snapshot.history[key], dtype=np.float64)
    if values.shape != (length,):
        raise ValueError(f"history[{key!r}] has shape {values.shape}, but history_steps has {length} entries")
    return values


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last `window` values (fewer at the start), O(n) via a cumulative sum."""
    if window <= 1 or values.size == 0:
        return values
    sums = np.cumsum(values)
    window_sums = sums.copy()
    window_sums[window:] -= sums[:-window]
    return window_sums / np.minimum(np.arange(1, values.size + 1), window)


def _thin_indices(length: int, max_points: int) -> np.ndarray:
    """At most max_points evenly spread indices, always including the newest entry."""
    if length <= max_points:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, max_points).round().astype(np.int64))


# -- the 2D view -------------------------------------------------------------------------------------
def toy_figure(toy: ToyView, title: str = "Discriminator (green = real) and generator") -> go.Figure:
    """GAN-Lab style: D's realness heatmap, real and fake points, and each fake point's gradient arrow."""
    gx, gy, d_grid = _check_toy(toy)
    x_range, y_range = [float(gx.min()), float(gx.max())], [float(gy.min()), float(gy.max())]
    span = max(x_range[1] - x_range[0], y_range[1] - y_range[0])
    heatmap = go.Heatmap(x=gx, y=gy, z=d_grid.astype(np.float32), zmin=0.0, zmax=1.0, colorscale="PRGn", opacity=0.45,
                         colorbar=dict(title="D(x)", thickness=12, len=0.8), hoverinfo="skip", name="D(x)")
    traces = [heatmap,
              _points_trace(toy.real, "real", REAL_COLOR, size=6),
              _points_trace(toy.fake, "generated", FAKE_COLOR, size=6),
              _arrows_trace(toy.fake, toy.arrows, ARROW_FRACTION * span)]
    extra = [lab_plots.manifold_trace(toy.manifold), lab_plots.offscreen_trace(toy.fake, x_range, y_range)]
    return go.Figure(data=traces + [trace for trace in extra if trace is not None],
                     layout=_square_layout(title, x_range, y_range, "toy"))


def _check_toy(toy: ToyView):
    gx, gy, d_grid = np.asarray(toy.grid_x), np.asarray(toy.grid_y), np.asarray(toy.d_grid)
    if gx.ndim != 1 or gy.ndim != 1 or gx.size < 2 or gy.size < 2:
        raise ValueError(f"grid_x and grid_y must be 1-D with at least 2 values, got {gx.shape} and {gy.shape}")
    if d_grid.shape != (gy.size, gx.size):
        raise ValueError(f"d_grid must have shape (len(grid_y), len(grid_x)) = ({gy.size}, {gx.size}), "
                         f"got {d_grid.shape}")
    _check_points("real", toy.real)
    _check_points("fake", toy.fake)
    if np.shape(toy.arrows) != np.shape(toy.fake):
        raise ValueError(f"arrows must have one (dx, dy) per fake point, shape {np.shape(toy.fake)}, "
                         f"got {np.shape(toy.arrows)}")
    return gx, gy, d_grid


def _arrows_trace(starts: np.ndarray, arrows: np.ndarray, longest: float) -> go.Scatter:
    """All arrows as one line trace: shaft plus two head strokes each, separated by NaN (plotly's gap).

    One trace of line segments costs the browser far less than M annotation arrows.
    """
    starts, arrows = np.asarray(starts, np.float64), np.asarray(arrows, np.float64)
    lengths = np.hypot(arrows[:, 0], arrows[:, 1])
    finite = lengths[np.isfinite(lengths)]
    peak = finite.max() if finite.size else 0.0
    vectors = arrows * (longest / peak) if peak > 0 else np.zeros_like(arrows)
    tips = starts + vectors
    head_left, head_right = (tips + _rotate(vectors, angle) * 0.3 for angle in (2.6, -2.6))
    gap = np.full_like(starts, np.nan)
    # Per arrow: start → tip, gap, left barb → tip → right barb, gap.
    path = np.stack([starts, tips, gap, head_left, tips, head_right, gap], axis=1).reshape(-1, 2)
    path = path.astype(np.float32)
    return go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", name="G's gradient",
                      line=dict(color=ARROW_COLOR, width=1), hoverinfo="skip")


def _rotate(vectors: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = math.cos(angle), math.sin(angle)
    return np.stack([vectors[:, 0] * cos - vectors[:, 1] * sin, vectors[:, 0] * sin + vectors[:, 1] * cos], axis=1)


def points_figure(points: np.ndarray, real: np.ndarray | None = None, highlight: np.ndarray | None = None,
                  title: str = "Generated points", padding: float = 0.1) -> go.Figure:
    """A 2D generator's samples (Explore tab), optionally over real points and with a few big highlighted
    points (e.g. the sample for the current sliders). Axis ranges cover all points plus `padding`."""
    groups = [("real", real, REAL_COLOR, 4), ("generated", points, FAKE_COLOR, 5), ("selected", highlight, "#d62728", 12)]
    traces, every = [], []
    for name, values, color, size in groups:
        if values is None:
            continue
        traces.append(_points_trace(values, name, color, size))
        every.append(np.asarray(values, np.float64).reshape(-1, 2))
    stacked = np.concatenate(every)
    if stacked.size == 0:
        return _with_message(go.Figure(layout=_square_layout(title, None, None, "points")), "No points to show")
    low, high = np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
    pad = padding * max(float((high - low).max()), 1e-6)
    x_range, y_range = [low[0] - pad, high[0] + pad], [low[1] - pad, high[1] + pad]
    return go.Figure(data=traces, layout=_square_layout(title, x_range, y_range, "points"))


def points_base(points: np.ndarray, real: np.ndarray | None = None, title: str = "Generated points") -> dict:
    """points_figure(...) without the highlight, as a JSON-ready dict to cache and pass to `with_highlight`."""
    return json.loads(points_figure(points, real=real, highlight=np.empty((0, 2)), title=title).to_json())


def with_highlight(base: dict, highlight: np.ndarray, padding: float = 0.1) -> str:
    """`base` with its (last, empty) "selected" trace set to `highlight`, as figure JSON. A slider drag on a 2D
    model re-sends the same ~1,500 cloud points each time; rebuilding them with plotly cost ~10 ms a drag,
    this ~1 ms. The axes grow if the highlighted point leaves them."""
    points = _check_points("highlight", highlight)
    selected = dict(base["data"][-1], x=points[:, 0].tolist(), y=points[:, 1].tolist())
    layout = dict(base["layout"])
    for axis, column in (("xaxis", points[:, 0]), ("yaxis", points[:, 1])):
        low, high = layout[axis]["range"]
        if column.size and (column.min() < low or column.max() > high):
            pad = padding * (high - low)
            layout[axis] = dict(layout[axis], range=[min(low, column.min() - pad), max(high, column.max() + pad)])
    return json.dumps(dict(base, data=base["data"][:-1] + [selected], layout=layout))


def _points_trace(points: np.ndarray, name: str, color: str, size: int) -> go.Scatter:
    points = _check_points(name, points).astype(np.float32)
    return go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=name,
                      marker=dict(color=color, size=size, line=dict(color="white", width=1)))


def _check_points(name: str, points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} points must have shape (N, 2), got {points.shape}")
    return points


def _square_layout(title: str, x_range, y_range, revision: str) -> dict:
    """Equal data units on both axes (a circle stays a circle); the plot area shrinks, not the ranges."""
    return dict(
        title=dict(text=title, x=0.5), uirevision=revision, height=460, margin=_MARGIN, plot_bgcolor="white",
        legend=dict(orientation="h", y=-0.08, x=0),
        xaxis=dict(range=x_range, constrain="domain", zeroline=False, **_GRID),
        yaxis=dict(range=y_range, scaleanchor="x", scaleratio=1, constrain="domain", zeroline=False, **_GRID),
    )


def empty_figure(message: str, title: str = "") -> go.Figure:
    """A valid blank figure with a centred message (e.g. "2D view appears for 2D datasets")."""
    return _with_message(go.Figure(layout=dict(title=dict(text=title, x=0.5), height=380, margin=_MARGIN,
                                               template="plotly_white", uirevision="empty")), message)


def _with_message(figure: go.Figure, message: str, y: float = 0.5) -> go.Figure:
    figure.add_annotation(text=message, x=0.5, y=y, xref="paper", yref="paper", showarrow=False,
                          font=dict(size=16, color="#666"))
    return figure


# -- images ------------------------------------------------------------------------------------------
def image_grid(images: np.ndarray, ncols: int | None = None, upscale: int | None = None,
               border: int = 2, border_value: int = 128) -> Image.Image:
    """(N, H, W, C) or (N, H, W) floats in [-1, 1] → one PIL image (mode L for C=1, RGB for C=3).

    Each tile is enlarged `upscale` times by pixel repetition (nearest neighbour keeps digits crisp);
    None picks about 84 px per tile. Tiles are separated by `border` px of grey `border_value`, drawn
    after the upscale so borders stay thin. Values outside [-1, 1] are clipped, as any display would;
    grey levels are (x + 1) * 127.5 rounded half up. ~0.9 ms for 64 digits (28x28, upscale 3).
    """
    tiles = _to_uint8_tiles(images)
    n, h, w, c = tiles.shape
    ncols = math.ceil(math.sqrt(n)) if ncols is None else ncols
    upscale = max(1, round(84 / max(h, w))) if upscale is None else upscale
    for name, value, low in (("ncols", ncols, 1), ("upscale", upscale, 1), ("border", border, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    if not 0 <= border_value <= 255:
        raise ValueError(f"border_value must be a grey level in 0..255, got {border_value!r}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    th, tw = h * upscale, w * upscale
    canvas = np.full((border + nrows * (th + border), border + ncols * (tw + border), c), border_value, np.uint8)
    # A view of the canvas below the outer border as a (row, y, col, x) grid of cells; copy=False raises
    # rather than silently writing into a copy. One assignment then places every tile.
    cells = np.reshape(canvas[border:, border:], (nrows, th + border, ncols, tw + border, c), copy=False)
    # Upscale by repetition, columns first: faster than rows first or a 6-D broadcast into the canvas, whose
    # innermost loop is only `upscale` long (docs/performance.md).
    big = tiles.repeat(upscale, axis=2).repeat(upscale, axis=1)
    padded = np.full((nrows * ncols, th, tw, c), border_value, dtype=np.uint8)  # blank cells after the last tile
    padded[:n] = big
    cells[:, :th, :, :tw] = padded.reshape(nrows, ncols, th, tw, c).transpose(0, 2, 1, 3, 4)
    return Image.fromarray(canvas[..., 0] if c == 1 else canvas)   # uint8 2-D → mode L, (H, W, 3) → RGB


def _to_uint8_tiles(images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, C) with N >= 1 and C = 1 (grey) or 3 (RGB), "
                         f"got {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf; the generator has diverged — reset or load a checkpoint")
    # Convert before upscaling: 9x fewer values to scale, clip and cast.
    return ((np.clip(images, -1.0, 1.0) + 1.0) * 127.5 + 0.5).astype(np.uint8)


def frames_strip(frames: list[Image.Image], gap: int = 2, gap_value: int = 128) -> Image.Image:
    """Interpolation frames side by side, left to right, with `gap` px of grey between them."""
    _check_frames(frames)
    width, height = frames[0].size
    strip = Image.new(frames[0].mode, (len(frames) * width + (len(frames) - 1) * gap, height),
                      gap_value if frames[0].mode == "L" else (gap_value,) * 3)
    for i, frame in enumerate(frames):
        strip.paste(frame, (i * (width + gap), 0))
    return strip


def frames_to_gif(frames: list[Image.Image], path, duration_ms: int = 100) -> pathlib.Path:
    """Write an endlessly looping GIF and return its path.

    Note: Pillow merges *identical consecutive* frames into one longer frame; playback is the same.
    """
    _check_frames(frames)
    path = pathlib.Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"GIF path must end in .gif, got {str(path)!r}")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or not 10 <= duration_ms <= 10_000:
        raise ValueError(f"duration_ms must be a whole number of milliseconds in 10..10000, got {duration_ms!r}")
    if not path.parent.is_dir():
        raise ValueError(f"folder {str(path.parent)!r} does not exist; create it first")
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return path


def _check_frames(frames) -> None:
    if not isinstance(frames, (list, tuple)) or not frames:
        raise ValueError("frames must be a non-empty list of PIL images")
    if not all(isinstance(frame, Image.Image) for frame in frames):
        raise ValueError("every frame must be a PIL image (for example from image_grid)")
    sizes, modes = {frame.size for frame in frames}, {frame.mode for frame in frames}
    if len(sizes) > 1 or len(modes) > 1:
        raise ValueError(f"all frames must share one size and mode, got sizes {sorted(sizes)} and modes {sorted(modes)}")


# -- metrics -----------------------------------------------------------------------------------------
# Known metric names (see playground/metrics/quality.py) → (label, format, what it means). Unknown names are still
# shown, under their raw name, so a new metric is never silently dropped.
METRIC_FORMATS = {
    "fcd": ("FCD", "{:.2f}", "Fréchet Classifier Distance: how far the samples' features (in the project's digit "
            "classifier) are from real digits'; lower is better, real digits score < 1"),
    "confident_share": ("Confident samples", "{:.0%}", "classifier is > 90% sure of the digit"),
    "classes_covered": ("Digit classes", "{:.0f} of 10", "classes seen in >= 1% of samples"),
    "label_accuracy": ("Label accuracy", "{:.0%}", "samples classified as the class asked for"),
    "recognised_share": ("Clean shapes", "{:.0%}", "one shape in one palette colour on a clean background"),
    "shape_classes_covered": ("Shape classes", "{:.0f} of 12", "shape-colour pairs seen in >= 1% of samples"),
    "modes_covered": ("Modes covered", "{:.0f}", "Gaussians that get their share of samples"),
    "high_quality_share": ("High-quality share", "{:.0%}", "samples within 3 sd of a mode"),
    "js_divergence": ("JS divergence", "{:.3f}", "0 = same spread as the data, 0.693 = no overlap (histogram)"),
    "step": ("Measured at step", "{:,.0f}", "metrics are computed beside training every few seconds"),
}


def metrics_markdown(metrics: dict) -> str:
    """A small Markdown table of whatever metrics are present; "" when there are none."""
    if not metrics:
        return ""
    rows = ["| metric | value | meaning |", "|---|---|---|"]
    for name, value in metrics.items():
        if name == "num_modes" and "modes_covered" in metrics:
            continue  # folded into "modes covered: 6 of 8"
        label, fmt, meaning = METRIC_FORMATS.get(name, (name.replace("_", " "), "{:.4g}", ""))
        text = _format_number(fmt, value)
        if name == "modes_covered" and "num_modes" in metrics:
            text += f" of {metrics['num_modes']}"
        rows.append(f"| {label} | {text} | {meaning} |")
    return "\n".join(rows)


def _format_number(fmt: str, value) -> str:
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    return fmt.format(value) if is_number and np.isfinite(value) else str(value)
