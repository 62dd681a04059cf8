"""What the page shows, computed from snapshots and samplers: pure functions with no Gradio in them, so
playground.web.app stays thin wiring. Also the checks for values that reach a handler unchecked (events that skip
Gradio's preprocessing)."""
import base64
import dataclasses
import html
import io
import re

import numpy as np

from playground.web import plots
from playground.text import shown
from playground.web.flow import CONTROLS
from playground.web.sessions import SessionError

RUN_OUTPUTS = 8 + len(CONTROLS) + 1   # layout.py's run_outputs: status ... timer, the controls, their hint
SLIDER_LIMIT = 4.0           # latent sliders run from -4 to 4 (z is standard normal)
TOY_POINTS_SHOWN = 256      # of the 512 real / fake points in a snapshot (measured: ~40% less browser work)


def status_line(snapshot, live_status=None) -> str:
    if snapshot is None:
        return "**idle** · press **Train** to start (the defaults train a ring of 8 Gaussians in seconds)"
    status = live_status or snapshot.status
    if status == "running" and snapshot.status == "idle":
        return "**starting** · loading data and building the models (a few seconds)…"
    text = (f"**{status}** · step {snapshot.step:,} · {snapshot.steps_per_sec:.1f} steps/s · "
            f"{snapshot.wall_time:.1f} s trained" + (f" · {snapshot.devices}" if snapshot.devices else ""))
    config = snapshot.config
    if config is not None:
        text += f" · learning rates: G {config.lr_g:g}, D {config.lr_d:g}" + labels_used(config)
        text += f" · max_images {config.max_images:,}" if config.max_images else ""
    return text + (f"\n\n**Error:** {snapshot.error}" if snapshot.error else "")


def labels_used(config) -> str:
    """What a built run's G and D are told besides noise (its config is resolved: conditional is on or off), so
    `conditional: off` of a self-conditioned run does not read as "no labels"."""
    if config.conditional is None:       # not built yet: "auto" is decided when the data is loaded
        return ""
    if config.conditional:
        return " · conditioned on the data's classes"
    return f" · conditioned on {config.clusters} k-means clusters" if config.clusters else " · unconditional"


def warnings_markdown(snapshot) -> str:
    return "\n".join(f"- ⚠️ {w}" for w in snapshot.warnings)


CHART_WINDOWS = {"full": None, "recent": 1000}     # the loss chart's choice: whole run, or its last 1,000 steps


def loss_chart_json(snapshot, smoothing: int = 1, window: str = "full") -> str:
    """The loss chart: smoothed over `smoothing` points, over the whole run or its recent steps, with a dotted
    line where the user paused, stepped or changed a learning rate."""
    if window not in CHART_WINDOWS:
        raise SessionError(f"the chart window must be one of {list(CHART_WINDOWS)}, got {window!r}")
    recent, steps = CHART_WINDOWS[window], snapshot.history_steps
    if recent is not None and len(steps) and steps[-1] - steps[0] > recent:
        keep = steps >= steps[-1] - recent
        snapshot = dataclasses.replace(snapshot, history_steps=steps[keep],
                                       history={key: values[keep] for key, values in snapshot.history.items()})
    figure = plots.loss_figure(snapshot, smoothing=whole_number("smoothing", smoothing))
    first = snapshot.history_steps[0] if len(snapshot.history_steps) else 0
    for step, label in snapshot.marks:
        if step >= first:
            figure.add_vline(x=step, line=dict(color="#999", width=1, dash="dot"), annotation_text=label,
                             annotation_font_size=9, annotation_textangle=-90)
    return figure.to_json()


def metrics_readout(snapshot) -> str:
    """The metrics table, or "measuring…" until the first evaluation of this run has come back."""
    if snapshot.metrics:
        return plots.metrics_markdown(snapshot.metrics)
    return "*Metrics: measuring… (the first evaluation comes a few seconds into training)*" if snapshot.step else ""


def thinned_toy(toy, keep=TOY_POINTS_SHOWN):
    """Fewer points and arrows: the browser redraws this view twice a second, and SVG cost grows per point."""
    return dataclasses.replace(toy, real=toy.real[:keep], fake=toy.fake[:keep], arrows=toy.arrows[:keep])


def sample_grid(snapshot):
    labels = snapshot.sample_labels
    columns = len(np.unique(labels)) if labels is not None else None
    return plots.image_grid(snapshot.samples, ncols=columns)


def big_image(images, upscale=None):
    height = images.shape[1]
    return plots.image_grid(images, ncols=1, upscale=upscale or max(1, 224 // height), border=0)


def path_figure_json(cloud, path, index):
    return plots.points_figure(cloud, highlight=path[index:index + 1],
                               title=f"Interpolation: frame {index} of {len(path) - 1}").to_json()


def inline_image_html(picture, caption: str = "") -> str:
    """The picture inside the event's reply (a data URI): no cache file to write and no second request to
    fetch it, which is most of a slider round trip once the server is busy training."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    image = (f'<img src="data:image/png;base64,{data}" alt="{caption or "generated sample"}" '
             f'width="{picture.width}" height="{picture.height}" style="image-rendering: pixelated; max-width: 100%">')
    return f'<figure style="margin: 0">{image}<figcaption>{caption}</figcaption></figure>' if caption else image


def whole_number(name, value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SessionError(f"{name} must be a whole number, got {shown(value)}")
    return int(value)


def seed_number(name, value) -> int:
    """A seed from outside: a whole number NumPy's generators take (none below 0)."""
    seed = whole_number(name, value)
    if not 0 <= seed < 2**63:
        raise SessionError(f"{name} must be 0 or more (a whole number below 2^63), got {shown(value)}")
    return seed


def checked_sliders(mode, values) -> list[float]:
    """The slider event sends raw values (it skips Gradio's own checks, see layout.py): check them here."""
    if mode not in ("raw", "pca"):
        raise SessionError(f"mode must be 'raw' or 'pca', got {shown(mode)}")
    for i, value in enumerate(values):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not -SLIDER_LIMIT <= value <= SLIDER_LIMIT:     # NaN fails the range check too
            raise SessionError(f"slider z[{i}] must be a number from {-SLIDER_LIMIT:g} to {SLIDER_LIMIT:g}, "
                               f"got {shown(value)}")
    return [float(value) for value in values]


def label_kinds(sampler) -> str:
    """'classes', or 'k-means clusters' for a self-conditioned run (its labels are not the data's classes)."""
    return "k-means clusters" if sampler.label_kind == "cluster" else "classes"


def class_label(sampler, label):
    if not sampler.num_classes:
        return None
    kind = sampler.label_kind
    label = 0 if label is None else whole_number(kind, label)
    if not 0 <= label < sampler.num_classes:
        raise SessionError(f"{kind} must be between 0 and {sampler.num_classes - 1}, got {label}")
    return label


# A setting named at the start of an error ("lr_d must be between...") → the element id of its field on the page.
FIELD_IDS = {"loss": "loss", "width": "width", "latent_dim": "latent-dim", "batch_size": "batch-size", "lr_g": "lr-g",
             "lr_d": "lr-d", "d_steps": "d-steps", "seed": "seed", "ema": "ema", "r1_gamma": "r1-gamma",
             "clusters": "clusters", "max_images": "max-images", "points": "points", "steps": "step-n",
             "name": "run-name"}
ADVANCED_FIELDS = {"width", "latent_dim", "batch_size", "d_steps", "seed", "ema", "r1_gamma", "clusters",
                   "max_images"}
EXPLORE_FIELD_IDS = {"seed": "explore-seed", "class": "explore-class", "cluster": "explore-class",
                     "frames": "interp-frames", "psi": "psi"}      # the same, for the Explore tab's fields


def field_at_fault(message: str, fields: dict = FIELD_IDS) -> str | None:
    """The field an error message is about, when it starts by naming one of `fields`."""
    match = re.match(r"(\w+)\b", message)
    return match.group(1) if match and match.group(1) in fields else None


def message_html(message: str, kind: str = "error", fields: dict | None = None) -> str:
    """A message area's content (one per area, next to its controls): the text, and a style that marks the field at
    fault (the style goes when the next action replaces the message). `fields`: the names a message may start with
    → element ids; None: the Train tab's settings, whose folded ones are said to be under Advanced settings."""
    if not message:
        return ""
    ids = FIELD_IDS if fields is None else fields
    field = field_at_fault(message, ids) if kind == "error" else None
    where = " (under Advanced settings)" if fields is None and field in ADVANCED_FIELDS else ""
    mark = ("" if field is None else
            f"<style>#{ids[field]} input, #{ids[field]} textarea {{outline: 2px solid #d33;}}</style>")
    icon = {"error": "⚠️", "info": "ℹ️"}[kind]
    return (f'<div class="gan-message gan-{kind}" role="{"alert" if kind == "error" else "status"}">{mark}'
            f"{icon} {html.escape(message)}{html.escape(where)}</div>")
