"""The Explore tab's handlers: latent sliders (raw z or PCA directions), the 2D sample cloud, interpolation and
its scrubber. PlaygroundUI (app.py) holds them as `ui.explore`, built with its `registry`, `samplers` and `_checked_checkpoint`.
Every problem goes to the tab's one message area (errors.reported: each event's last output), never a gr.Error.

Slider and scrub events skip Gradio's pre/postprocessing (layout.py), so these check their raw values
themselves (views.checked_sliders, views.whole_number, latent.truncate).

No `from __future__ import annotations` here: Gradio reads the `gr.Request` type hints at runtime.
"""
import json
import threading
import time
import weakref

import gradio as gr
import numpy as np

from playground.sampling import export, latent
from playground.web import plots, views
from playground.web.sessions import SessionError
from playground.web.errors import USER_ERRORS, reported, session_of
from playground.web.layout import LIVE, PAGE_DIRECTIONS, SLIDERS
from playground.web.views import EXPLORE_FIELD_IDS

ANCHOR_SEED = export.ANCHOR_SEED   # the cloud of samples behind a 2D generator's current point
CLOUD_REFRESH_SECONDS = 1.0  # a training model's cloud is redrawn at most this often while its sliders move
# The page's exports, per sampler (shared by every session that explores a bundled run): directions are computed
# once per sampler (like the server path's, a live run's stay until the source is picked again), the JSON once
# per weight version.
_page_directions = weakref.WeakKeyDictionary()
_page_payloads = weakref.WeakKeyDictionary()
_page_lock = threading.Lock()


class ExploreHandlers:
    """Explore-tab handlers, composed into PlaygroundUI as `ui.explore`: the sessions, the shared cache of loaded
    checkpoints, and the check that a source is one of this visitor's listed checkpoints."""

    def __init__(self, registry, samplers, checked_checkpoint):
        self.registry, self.samplers, self._checked_checkpoint = registry, samplers, checked_checkpoint

    def explore_sampler(self, request, source):
        if source == LIVE:
            trainer = self.registry.trainer(request.session_hash)
            sampler = None if trainer is None else trainer.sampler()
            if sampler is None:
                raise SessionError("this session has no model yet: press Train on the Train tab, or pick a "
                                   "checkpoint as the source")
            return sampler
        return self.samplers.get(self._checked_checkpoint(source, request))

    def directions(self, request, source, sampler, label, refresh=False):
        """GANSpace-style directions, cached per session, source and class (recomputed on request)."""
        cache = session_of(self, request).scratch.setdefault("directions", {})
        key = (source, label)
        if refresh or key not in cache or cache[key][0] is not sampler:   # a Reset makes a new sampler
            features = int(np.prod(sampler.output_shape))
            k = min(SLIDERS, sampler.latent_dim, features)
            cache[key] = (sampler, latent.pca_directions(sampler.generate, sampler.latent_dim, k, n_samples=max(
                500, sampler.latent_dim + 1), labels=label))
        return cache[key][1]

    def explore_z(self, request, source, sampler, mode, seed, psi, label, values):
        base = latent.z_from_seed(views.seed_number("seed", seed), sampler.latent_dim)
        if mode == "pca":
            directions = self.directions(request, source, sampler, label)
            z = latent.z_from_sliders(base, list(values)[:len(directions)], directions)
        else:
            z = latent.z_from_sliders(base, list(values)[:min(SLIDERS, sampler.latent_dim)])
        return latent.truncate(z, psi)

    @reported(2, EXPLORE_FIELD_IDS)
    def explore_render(self, request: gr.Request, source, mode, seed, psi, label, *values):
        """The fast path behind every slider: one sample, drawn as an image or a highlighted 2D point."""
        return self._render(request, source, mode, seed, psi, label, values), ""

    def _render(self, request, source, mode, seed, psi, label, values) -> tuple:
        sampler = self.explore_sampler(request, source)
        label = views.class_label(sampler, label)
        z = self.explore_z(request, source, sampler, mode, seed, psi, label, views.checked_sliders(mode, values))
        output = sampler.generate(z, None if label is None else [label])
        if sampler.kind == "image":
            return views.inline_image_html(views.big_image(output)), gr.skip()
        return gr.skip(), plots.with_highlight(self._cloud_figure(request, source, sampler, psi, label), output)

    def _cloud_figure(self, request, source, sampler, psi, label) -> dict:
        """The slider's unchanging backdrop (sample cloud and real points), built once per model version."""
        cache = session_of(self, request).scratch
        cloud, real = self._cloud(request, sampler, psi, label), self._real_points(request, source)
        parts = cache.get("figure_parts")
        if parts is None or parts[0] is not cloud or parts[1] is not real:
            cache["figure"] = plots.points_base(cloud, real=real, title="Samples (red: the current z)")
            cache["figure_parts"] = (cloud, real)
        return cache["figure"]

    def _real_points(self, request, source):
        """The training data behind a live 2D model, from its latest snapshot (checkpoints carry none)."""
        trainer = self.registry.trainer(request.session_hash) if source == LIVE else None
        toy = None if trainer is None else trainer.snapshot().toy
        return None if toy is None else toy.real

    def clear_interpolation(self, request: gr.Request):
        """A new model makes the old interpolation meaningless: hide it rather than show stale frames."""
        session_of(self, request).scratch.pop("frames", None)
        return (gr.update(visible=False),) * 4

    def _cloud(self, request, sampler, psi, label):
        """1,000 samples behind a 2D generator's current point. A training model gets a new version every
        publish (0.5 s); redrawing its cloud and figure on each of those drags was ~7% of the server's GIL time
        in the 8-session load test, so it is redrawn at most once per CLOUD_REFRESH_SECONDS."""
        cache = session_of(self, request).scratch
        key = (sampler.version, psi, label)
        same_view = cache.get("cloud_sampler") is sampler and cache.get("cloud_key", ())[1:] == key[1:]
        recent = time.monotonic() - cache.get("cloud_time", -np.inf) < CLOUD_REFRESH_SECONDS
        if not same_view or (cache["cloud_key"] != key and not recent):
            cache["cloud_sampler"], cache["cloud_time"] = sampler, time.monotonic()
            z = latent.truncate(latent.z_from_seed(ANCHOR_SEED, sampler.latent_dim, 1000), psi)
            cache["cloud"], cache["cloud_key"] = sampler.generate(z, None if label is None else [label] * 1000), key
        return cache["cloud"]

    @reported(SLIDERS + 4, EXPLORE_FIELD_IDS)
    def explore_refresh(self, request: gr.Request, source, mode, seed, psi, label, *values):
        return self._refresh(request, source, mode, seed, psi, label, values, refresh_directions=False), ""

    @reported(SLIDERS + 4, EXPLORE_FIELD_IDS)
    def recompute_directions(self, request: gr.Request, source, mode, seed, psi, label, *values):
        return self._refresh(request, source, mode, seed, psi, label, values, refresh_directions=True), ""

    def _refresh(self, request, source, mode, seed, psi, label, values, refresh_directions):
        """Source, mode, seed or class changed: reset the sliders to match, then render."""
        sampler = self.explore_sampler(request, source)
        label = views.class_label(sampler, label)
        if mode == "pca":
            count = len(self.directions(request, source, sampler, label, refresh=refresh_directions))
            values = [0.0] * SLIDERS
        else:
            count = min(SLIDERS, sampler.latent_dim)
            base = latent.z_from_seed(views.seed_number("seed", seed), sampler.latent_dim)[0]
            values = [round(float(np.clip(v, -4, 4)), 2) for v in base[:SLIDERS]] + [0.0] * SLIDERS
        name = "PC" if mode == "pca" else "z"
        sliders = [gr.update(visible=i < count, value=values[i], label=f"{name}[{i}]") for i in range(SLIDERS)]
        # A self-conditioned run's labels are k-means clusters, not the data's classes: say so.
        classes = gr.update(visible=sampler.num_classes > 0, choices=list(range(sampler.num_classes)),
                            value=label if label is not None else (0 if sampler.num_classes else None),
                            label=sampler.label_kind)
        image, figure = self._render(request, source, mode, seed, psi, label, values[:SLIDERS])
        info = (f"{'image' if sampler.kind == 'image' else '2D'} generator · latent size {sampler.latent_dim}"
                + (f" · {sampler.num_classes} {views.label_kinds(sampler)}" if sampler.num_classes else ""))
        image_update = gr.update(value=image, visible=True) if sampler.kind == "image" else gr.update(visible=False)
        plot_update = gr.update(value=figure, visible=True) if sampler.kind != "image" else gr.update(visible=False)
        return (*sliders, classes, image_update, plot_update, info)

    @reported(SLIDERS + 5, EXPLORE_FIELD_IDS)
    def random_seed(self, request: gr.Request, source, mode, seed, psi, label, *values):
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        return (seed, *self._refresh(request, source, mode, seed, psi, label, values, refresh_directions=False)), ""

    # -- interpolation ---------------------------------------------------------------------------------
    @reported(5, EXPLORE_FIELD_IDS)
    def interpolate(self, request: gr.Request, source, seed_a, seed_b, how, n_frames, psi, label):
        sampler = self.explore_sampler(request, source)
        label = views.class_label(sampler, label)
        dim, n = sampler.latent_dim, views.whole_number("frames", n_frames)     # the slider bounds it to 2..32
        z0, z1 = (latent.z_from_seed(views.seed_number(name, s), dim)
                  for name, s in (("from seed", seed_a), ("to seed", seed_b)))
        path = latent.truncate(latent.interpolation_path(z0, z1, n, how), psi)
        outputs = sampler.generate(path, None if label is None else [label] * n)
        session = session_of(self, request)
        if sampler.kind != "image":
            cloud = self._cloud(request, sampler, psi, label)
            session.scratch["frames"] = ("toy", outputs, cloud)
            path_plot = gr.update(value=views.path_figure_json(cloud, outputs, 0), visible=True)
            return (gr.update(visible=False), gr.update(value=None, visible=False), gr.update(maximum=n - 1, value=0),
                    gr.update(visible=False), path_plot), ""
        frames = [views.big_image(frame[None], upscale=3) for frame in outputs]
        session.scratch["frames"] = ("image", frames, None)
        gif = plots.frames_to_gif(frames, session.temp_dir() / f"interpolation-{seed_a}-{seed_b}-{how}.gif")
        caption = f"{n} frames, {how} path from seed {seed_a} to {seed_b}"
        strip = views.inline_image_html(plots.frames_strip(frames), caption)
        return (gr.update(value=strip, visible=True), gr.update(value=str(gif), visible=True),
                gr.update(maximum=n - 1, value=0), gr.update(value=views.inline_image_html(frames[0]), visible=True),
                gr.update(visible=False)), ""

    @reported(2, EXPLORE_FIELD_IDS)
    def scrub(self, request: gr.Request, index):
        kind, frames, cloud = session_of(self, request).scratch.get("frames", (None, None, None))
        if frames is None:
            raise SessionError("make an interpolation first (press 'Interpolate')")
        i = int(np.clip(views.whole_number("frame", index), 0, len(frames) - 1))
        if kind == "image":
            return (views.inline_image_html(frames[i]), gr.skip()), ""
        return (gr.skip(), views.path_figure_json(cloud, frames, i)), ""

    # -- the in-page generator (static/explore.js) -----------------------------------------------------
    def page_source(self, source):
        """A new source: the page asks for its model (page_model) once the Explore tab shows, so a visitor who
        stays on the Train tab downloads neither TensorFlow.js nor weights. The live-refresh timer runs only
        while the source is this session's run."""
        return json.dumps({"pending": source}), gr.Timer(active=source == LIVE)

    def page_model(self, request: gr.Request, source):
        """The source's generator for the page, or {"error"} (the page then shows the server controls)."""
        session = session_of(self, request)
        session.scratch.pop("page_sent", None)
        if source == LIVE:
            trainer = self.registry.trainer(request.session_hash)
            sampler = None if trainer is None else trainer.sampler()
            if sampler is not None:
                with _page_lock:                                 # fresh directions, and a payload that has them
                    _page_directions.pop(sampler, None)
                    _page_payloads.pop(sampler, None)
        try:
            text = self._page_payload(request, source, self.explore_sampler(request, source))
        except USER_ERRORS as exc:          # export.UnsupportedModel is a ValueError
            text = json.dumps({"error": str(exc)})
        return text

    def page_tick(self, request: gr.Request, source):
        """The live run's new weights, sent only when they changed and only while the Explore tab shows."""
        session = session_of(self, request)
        trainer = self.registry.trainer(request.session_hash) if source == LIVE else None
        sampler = None if trainer is None else trainer.sampler()
        if sampler is None or session.scratch.get("tab") != "explore":
            return gr.skip()
        if session.scratch.get("page_sent") == (sampler, sampler.version):
            return gr.skip()
        try:
            return self._page_payload(request, source, sampler)
        except USER_ERRORS as exc:
            return json.dumps({"error": str(exc)})

    def _page_payload(self, request, source, sampler) -> str:
        version = sampler.version
        with _page_lock:
            cached = _page_payloads.get(sampler)
            directions = _page_directions.get(sampler)
        if cached is None or cached[0] != version:
            if directions is None:
                directions = export.page_directions(sampler, PAGE_DIRECTIONS)
            payload = export.export_generator(sampler, directions, self._real_points(request, source),
                                              key=f"{source}@{version}")
            cached = (version, json.dumps({**payload, "source": source}))
            with _page_lock:
                _page_payloads[sampler], _page_directions[sampler] = cached, directions
        session_of(self, request).scratch["page_sent"] = (sampler, version)
        return cached[1]
