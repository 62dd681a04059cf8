"""The Train tab's beginner layer, as Gradio handlers (mixed into playground.web.app.PlaygroundUI): the data
preview, one-click experiments, the timeline scrubber and its GIF, and the session's kept runs. The logic is in
playground.web.preview (pictures), experiments (presets) and flow / sessions (kept runs)."""
from __future__ import annotations

import gradio as gr

from playground.web import preview, views
from playground.web.errors import problem_message, reported, session_of
from playground.web.experiments import experiment
from playground.training.snapshot import empty_snapshot
from playground.data.points import parse_points
from playground.web.sessions import SessionError


def preview_html(picture, caption: str) -> str:
    if picture is None:
        return f"<p class='gan-caption'>{caption}</p>"
    return views.inline_image_html(picture, caption)


class GuideHandlers:
    """The beginner layer's handlers, composed into PlaygroundUI as `ui.guide`: the sessions and how a run is drawn."""

    def __init__(self, registry, render_run):
        self.registry, self.render_run = registry, render_run

    def data_preview(self, dataset, points_text=None):
        """The real data of the chosen dataset, before any training."""
        try:
            if dataset == "points":
                return preview_html(*preview.points_preview(parse_points(points_text)))
            return preview_html(*preview.data_preview(dataset))
        except Exception as exc:  # noqa: BLE001 — a preview that cannot be drawn says why, in its place
            return preview_html(None, f"No preview: {problem_message(exc)}")

    def use_experiment(self, key):
        """Fill in an experiment's settings; the message area says what to watch."""
        from playground.web.app import config_settings

        chosen = experiment(key)
        config = chosen.config()
        return (chosen.dataset, *config_settings(config), gr.update(visible=False), gr.update(visible=False),
                views.message_html(f"{chosen.label}: {chosen.watch} Press Train. A link to this experiment: "
                                   f"?experiment={key}", "info"))

    def chart_options(self, request: gr.Request, smoothing, window):
        """The loss chart's smoothing and window (kept per session); redraws at once."""
        views.loss_chart_json(empty_snapshot(), smoothing, window)       # checks both before keeping them
        session_of(self, request).scratch["chart"] = (smoothing, window)
        return self.render_run(request, force=True)

    @reported(1)
    def timeline_frame(self, request: gr.Request, position):
        """The scrubber moved: that frame of this session's run (problems go to the timeline's message area)."""
        snapshot = self._timeline_snapshot(request)
        index = preview.timeline_index(snapshot, position)
        step = snapshot.timeline[index][0]
        caption = f"step {step:,} (snapshot {index + 1} of {len(snapshot.timeline)})"
        return (views.inline_image_html(preview.timeline_picture(snapshot, index), caption),), ""

    @reported(1)
    def timeline_gif(self, request: gr.Request):
        snapshot = self._timeline_snapshot(request)
        folder = session_of(self, request).temp_dir()
        path = preview.timeline_gif(snapshot, folder / f"training-step-{snapshot.step}.gif")
        first, last = snapshot.timeline[0][0], snapshot.timeline[-1][0]
        note = f"A GIF of {len(snapshot.timeline)} snapshots, steps {first:,} to {last:,}."
        return (gr.update(value=path, visible=True),), note

    def _timeline_snapshot(self, request):
        trainer = self.registry.trainer(request.session_hash)
        if trainer is None or not trainer.snapshot().timeline:
            raise SessionError("the timeline is empty: press Train; a snapshot is kept every few steps")
        return trainer.snapshot()

    @reported(views.RUN_OUTPUTS)
    def bring_back(self, request: gr.Request, number):
        note = self.registry.bring_back(request.session_hash, views.whole_number("earlier run", number))
        return self.render_run(request, force=True), note + " Save it to keep it; Train starts a new run."

    def kept_list(self, request: gr.Request):
        kept = self.registry.kept_runs(request.session_hash)
        return gr.update(choices=kept, value=kept[0][1] if kept else None)
