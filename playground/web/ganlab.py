"""The Train tab's GAN-Lab handlers: slow-motion steps, settings from a shared link and the link for the current
settings, and this session's runs compared on one chart. PlaygroundUI (app.py) holds them as `ui.lab`, built
with its `registry`, `settings_to_config` and `render_run`. The logic is in links.py, compare.py and lab_plots.py.
Problems go to a message area (errors.reported): slow motion's beside the 2D view's controls, the link's in the
Train tab's own (it outlines the setting at fault), the comparison's in its accordion.

No `from __future__ import annotations` here: Gradio reads the `gr.Request` type hints at runtime.
"""
import json
import time

import gradio as gr

from playground.web import plots, views
from playground.web.compare import CURVES, RunShelf
from playground.web.errors import reported, session_of
from playground.web.sessions import SessionError
from playground.web.lab_plots import compare_figure
from playground.web.links import config_from_query, query_from_config

SLOW_PAUSE_SECONDS = 1.2        # between the slow-motion frames: long enough to see the heatmap change
SLOW_TRANSITION_MS = 900        # how long the generated points take to glide to their new places
SLOW_NOTES = (("d", "Slow motion 1/2 · D's update", "only the background moved — D learned; G's points stay."),
              ("g", "Slow motion 2/2 · G's update", "the purple points glide along their arrows; D stays."))
TOY_PLOT = 4                    # the 2D view's place in layout's run_outputs


def shelf_of(session) -> RunShelf:
    return session.scratch.setdefault("runs", RunShelf())


class GanLabHandlers:
    """Slow motion, shared links and compared runs, composed into PlaygroundUI as `ui.lab`: the sessions, how the
    Train tab's settings become a config, and how a run is drawn."""

    def __init__(self, registry, settings_to_config, render_run):
        self.registry, self.settings_to_config, self.render_run = registry, settings_to_config, render_run

    def remember_run(self, session, trainer, snapshot):
        shelf_of(session).remember(trainer, snapshot)

    @reported(views.RUN_OUTPUTS)
    def slow_step(self, request: gr.Request, *settings):
        """One step shown in its parts: D's update, a pause, then G's update with the points gliding."""
        config, points = self.settings_to_config(*settings)
        for which, title, note in SLOW_NOTES:
            snapshot = self.registry.step(request.session_hash, config, points, 1, which)
            outputs = list(self.render_run(request, force=True))
            outputs[0] = f"**{title}:** {note}\n\n{views.status_line(snapshot)}"
            if snapshot.toy is not None:
                figure = json.loads(plots.toy_figure(views.thinned_toy(snapshot.toy), title=title).to_json())
                figure["layout"]["transition"] = {"duration": SLOW_TRANSITION_MS, "easing": "cubic-in-out"}
                outputs[TOY_PLOT] = gr.update(value=json.dumps(figure), visible=True)
            yield tuple(outputs), ""
            if which == "d":
                time.sleep(SLOW_PAUSE_SECONDS)

    def settings_from_link(self, request: gr.Request):
        """The page was opened from a link: its query parameters fill the settings; problems are listed in place."""
        from playground.web.app import SETTING_OUTPUTS, config_settings

        config, problems = config_from_query(dict(request.query_params or {}))
        note = "\n".join(f"- ⚠️ {problem}" for problem in problems)
        if config is None:
            return (gr.skip(),) * SETTING_OUTPUTS + (note,)
        return (config.dataset, *config_settings(config), note or "Settings filled in from the link.")

    @reported(1)
    def share_query(self, *settings):
        """'?dataset=…&…' for the current settings (the page adds its own address and copies the link)."""
        config, _ = self.settings_to_config(*settings)
        return (query_from_config(config),), ""

    @reported(1)
    def compare_runs(self, request: gr.Request, key):
        if key not in CURVES:
            raise SessionError(f"pick a curve from the list ({', '.join(CURVES)})")
        curves = shelf_of(session_of(self, request)).curves(key)
        return (compare_figure(curves, key, CURVES[key][0]).to_json(),), ""
