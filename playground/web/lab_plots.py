"""The GAN-Lab additions to the figures: the manifold mesh, markers for samples outside the view, the live
metrics over steps (a third panel under the losses) and several runs on one chart. Numpy and plotly only.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

MANIFOLD_COLOR = "rgba(31, 119, 180, 0.55)"
OFFSCREEN_COLOR = "#d62728"
METRIC_COLORS = {"js_divergence": "#8c564b", "mode_coverage": "#17becf"}
METRIC_NAMES = {"js_divergence": "JS divergence / log 2", "mode_coverage": "modes covered (share)"}
# Trace names of the 2D view's layers, which the page's layer checkboxes show and hide (layout.LAYERS_JS).
LAYER_TRACES = {"real points": ["real"], "generated points": ["generated", "off-screen"], "D heatmap": ["D(x)"],
                "gradient arrows": ["G's gradient"], "manifold": ["manifold"]}
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def manifold_trace(manifold) -> go.Scatter | None:
    """Each mesh (C, K, K, 2) as its grid lines: the rows, then the columns, NaN-separated in one line trace."""
    if manifold is None:
        return None
    mesh = np.asarray(manifold, np.float32)
    if mesh.ndim != 4 or mesh.shape[-1] != 2:
        raise ValueError(f"manifold must have shape (classes, rows, columns, 2), got {mesh.shape}")
    lines = [mesh, mesh.transpose(0, 2, 1, 3)] if mesh.shape[1] > 1 else [mesh]
    pieces = []
    for grid in lines:                        # (C, R, K, 2): C*R polylines of K points, each closed by a gap
        gap = np.full(grid.shape[:2] + (1, 2), np.nan, np.float32)
        pieces.append(np.concatenate([grid, gap], axis=2).reshape(-1, 2))
    path = np.concatenate(pieces)
    return go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", name="manifold", hoverinfo="skip",
                      line=dict(color=MANIFOLD_COLOR, width=1))


def offscreen_trace(points, x_range, y_range) -> go.Scatter | None:
    """Samples outside the view, pinned to its edge as red triangles (hover: where they really are)."""
    points = np.asarray(points, np.float64)
    low, high = np.array([x_range[0], y_range[0]]), np.array([x_range[1], y_range[1]])
    outside = np.any((points < low) | (points > high), axis=1) & np.all(np.isfinite(points), axis=1)
    if not outside.any():
        return None
    flung = points[outside]
    inset = 0.01 * (high - low)
    pinned = np.clip(flung, low + inset, high - inset).astype(np.float32)
    text = [f"off-screen sample at ({x:.3g}, {y:.3g})" for x, y in flung]
    return go.Scatter(x=pinned[:, 0], y=pinned[:, 1], mode="markers", name="off-screen", text=text,
                      hoverinfo="text", marker=dict(color=OFFSCREEN_COLOR, size=9, symbol="triangle-up"))


def metric_traces(snapshot) -> list[go.Scatter]:
    """The charted live metrics against the step, on axis y3 (0 to 1): JS divergence as a share of log 2."""
    steps = np.asarray(getattr(snapshot, "metric_steps", ()), np.int64)
    history = getattr(snapshot, "metric_history", {}) or {}
    traces = []
    for key, scale in (("js_divergence", 1 / np.log(2.0)), ("mode_coverage", 1.0)):
        values = np.asarray(history.get(key, ()), np.float64)
        if steps.size and values.shape == steps.shape and np.isfinite(values).any():
            traces.append(go.Scatter(x=steps, y=(values * scale).astype(np.float32), yaxis="y3",
                                     mode="lines+markers", name=METRIC_NAMES[key], marker=dict(size=4),
                                     line=dict(color=METRIC_COLORS[key], width=1.5)))
    return traces


def with_metric_panel(layout: dict) -> dict:
    """The loss layout with room for a third panel (y3) at the bottom for metric_traces."""
    return dict(layout, height=500, xaxis=dict(layout["xaxis"], anchor="y3"),
                yaxis=dict(layout["yaxis"], domain=[0.58, 1.0]), yaxis2=dict(layout["yaxis2"], domain=[0.32, 0.5]),
                yaxis3=dict(title="distance to data", domain=[0.0, 0.24], range=[0, 1.05],
                            gridcolor="#e6e6e6", zerolinecolor="#cccccc"))


# -- compared runs -------------------------------------------------------------------------------------
def compare_figure(runs: list, key: str, label: str) -> go.Figure:
    """One line per run (name, steps, values), the runs' `key` series against the step."""
    traces = [go.Scatter(x=np.asarray(steps), y=np.asarray(values, np.float32), mode="lines", name=name,
                         line=dict(color=RUN_COLORS[i % len(RUN_COLORS)], width=1.5))
              for i, (name, steps, values) in enumerate(runs)]
    layout = dict(title=dict(text=f"{label}: this session's runs", x=0.5), uirevision="compare", height=400,
                  margin=dict(l=50, r=20, t=40, b=40), plot_bgcolor="white",
                  legend=dict(orientation="h", y=-0.15, x=0),
                  xaxis=dict(title="step", gridcolor="#e6e6e6"), yaxis=dict(title=label, gridcolor="#e6e6e6"))
    figure = go.Figure(data=traces, layout=layout)
    if not traces:
        figure.add_annotation(text="Train a run (or load one) to compare it here", x=0.5, y=0.5, xref="paper",
                              yref="paper", showarrow=False, font=dict(size=16, color="#666"))
    return figure
