"""The web page: Gradio handlers and build_demo (the tabs' components and wiring are in playground.web.layout).
Logic lives in playground.web.sessions (sessions), playground.web.saved_runs (saving, uploaded runs), the Trainer
(training) and latent / plots (sampling maths, figures). Handlers read Snapshots and call the Trainer's public
methods and Samplers; TensorFlow is imported only when a handler first needs it.

No `from __future__ import annotations` here: Gradio reads the `gr.Request` type hints at runtime.
"""
import os
import pathlib
import re
import time

import gradio as gr

from playground.web import layout, plots, views
from playground.engine.config import default_config
from playground.training.snapshot import empty_snapshot
from playground.data.uploads import UploadLimits
from playground.text import shown
from playground.web.saved_runs import (NoRoomToSave, checkpoint_choices, owner_checkpoints_root, save_for_download,
                                       save_session_run, unpack_run_zip, zip_run)
from playground.web.memory import freeze_startup_objects
from playground.data.points import parse_points
from playground.web.sessions import SessionError, SessionRegistry, checkpoints_root, import_engine
from playground.web.errors import (SAMPLERS, GuardedBlocks, problem_message, reported, session_of,
                                   uploaded_file, visitor_of)
from playground.web.flow import control_states, controls_hint
from playground.web.guide import GuideHandlers
from playground.web.explore import ExploreHandlers
from playground.web.ganlab import GanLabHandlers
from playground.web.layout import DATASETS, LIVE, PLOTLY_JS, SLIDERS, TFJS_JS

DATASET_VALUES = tuple(value for _, value in DATASETS)
READY_DATASETS = ("ring", "digits")   # the page's default and the bundled images; each adds ~3 s to warm-up
FIRST_STEP_WAIT = 0.6     # seconds Train waits for a ready run's first step, so its own reply draws it

# Gradio re-summarises up to 10,000 past events after every queued event, for a monitoring page this app does
# not use (a cost that grows over hours, docs/performance.md): every 1,000 events over the last 1,000 instead.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


def config_settings(config) -> tuple:
    """A config's values for the Train tab's setting fields after `dataset` (layout.py's setting_outputs order):
    what choosing a dataset fills in and what loading a run shows."""
    conditional = {None: "auto", True: "on", False: "off"}[config.conditional]
    return (config.loss, config.width, config.latent_dim, config.batch_size, config.lr_g, config.lr_d,
            config.d_steps, config.seed, config.ema, config.r1_gamma, config.augment, conditional, config.clusters,
            config.max_images)


RUN_OUTPUTS = views.RUN_OUTPUTS
SETTING_OUTPUTS = 1 + len(config_settings(default_config()))    # layout.py's setting_outputs: the dataset, then these


class PlaygroundUI:
    """Handlers, bound to one registry and one checkpoints folder; composed with the Explore tab's (ui.explore,
    explore.py), the GAN-Lab additions' (ui.lab, ganlab.py) and the beginner layer's (ui.guide, guide.py)."""

    def __init__(self, registry: SessionRegistry, root: pathlib.Path):
        self.registry, self.root, self.samplers = registry, pathlib.Path(root), SAMPLERS
        self.explore = ExploreHandlers(registry, SAMPLERS, self._checked_checkpoint)
        self.lab = GanLabHandlers(registry, self.settings_to_config, self.render_run)
        self.guide = GuideHandlers(registry, self.render_run)

    # == Train tab ====================================================================================
    def settings_to_config(self, dataset, loss, width, latent_dim, batch_size, lr_g, lr_d, d_steps, seed, ema,
                           r1_gamma, augment, conditional, clusters, max_images, points_text, upload):
        """The UI's settings as a validated TrainConfig (+ points); ConfigError names the bad field."""
        points = None
        if dataset not in DATASET_VALUES:       # Gradio's dropdown checks this too; a path is never taken from here
            raise SessionError(f"dataset must be one of {list(DATASET_VALUES)}, got {shown(dataset)}")
        if dataset == "upload":
            if not upload:
                raise SessionError("choose a .zip of images or an .npz file to upload first")
            dataset = str(uploaded_file(upload))
        elif dataset == "points":
            points = parse_points(points_text)
        conditional = {"auto": None, "on": True, "off": False}.get(conditional, conditional)
        config = default_config(dataset, loss=loss, width=width, latent_dim=latent_dim, batch_size=batch_size,
                                lr_g=lr_g, lr_d=lr_d, d_steps=d_steps, seed=seed, ema=ema, r1_gamma=r1_gamma,
                                augment=augment, conditional=conditional, clusters=clusters,
                                max_images=max_images)
        return config, points

    def defaults_for(self, dataset):
        """Refresh every setting to the recipe of the chosen dataset's family."""
        c = default_config("digits" if dataset == "upload" else dataset)
        return (*config_settings(c), gr.update(visible=dataset == "points"), gr.update(visible=dataset == "upload"))

    @reported(RUN_OUTPUTS)
    def train(self, request: gr.Request, *settings):
        """Train does the obvious thing for the run's state (playground.web.flow.train_plan)."""
        config, points = self.settings_to_config(*settings)
        note = self.registry.start(request.session_hash, config, points, visitor=visitor_of(request))
        trainer, deadline = self.registry.trainer(request.session_hash), time.monotonic() + FIRST_STEP_WAIT
        while trainer.snapshot().step == 0 and trainer.status == "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.render_run(request, force=True), "" if note == "Training started." else note

    @reported(RUN_OUTPUTS)
    def control(self, action, request: gr.Request):
        """Pause / Resume / Stop: the trainer's own checks say when an action does not fit."""
        trainer = self.registry.trainer(request.session_hash)
        if trainer is None:
            raise SessionError("nothing is training yet; press Train")
        if action == "resume":
            self.registry.resume(request.session_hash, visitor=visitor_of(request))
        else:
            getattr(trainer, action)()
        note = "Stopped. Save the run to keep it for later; Train starts a new run." if action == "stop" else ""
        return self.render_run(request, force=True), note

    def pause(self, request: gr.Request):
        return self.control("pause", request)

    def resume(self, request: gr.Request):
        return self.control("resume", request)

    def stop(self, request: gr.Request):
        return self.control("stop", request)

    def tick(self, request: gr.Request):
        return self.render_run(request)

    def show_train_tab(self, request: gr.Request):
        session_of(self, request).scratch["tab"] = "train"
        return self.render_run(request, force=True)

    def show_explore_tab(self, request: gr.Request):
        """Stop the Train tab's refresh while it is hidden: slider renders get the CPU instead."""
        session_of(self, request).scratch["tab"] = "explore"
        return gr.Timer(active=False)

    @reported(RUN_OUTPUTS)
    def step(self, request: gr.Request, which, n, *settings):
        config, points = self.settings_to_config(*settings)
        self.registry.step(request.session_hash, config, points, views.whole_number("steps", n), which,
                           visitor=visitor_of(request))
        return self.render_run(request, force=True), ""

    @reported(RUN_OUTPUTS)
    def reset(self, request: gr.Request, *settings):
        config, points = self.settings_to_config(*settings)
        self.registry.reset(request.session_hash, config, points)
        return self.render_run(request, force=True), "Run discarded; Train starts a new one with these settings."

    def set_hyperparams(self, request: gr.Request, lr_g, lr_d, d_steps):
        """A live edit (on Enter or leaving the field): applied at once while a run exists; the message says so
        once per change, not once per event."""
        trainer = self.registry.trainer(request.session_hash)
        if trainer is None or trainer.run is None:
            return gr.skip()     # nothing built yet: the next Train reads the settings anyway
        try:
            changes = {name: value for name, value in (("lr_g", lr_g), ("lr_d", lr_d), ("d_steps", d_steps))
                       if getattr(trainer.config, name) != value}
            if not changes:
                return gr.skip()
            trainer.set_hyperparams(**{k: int(v) if k == "d_steps" and v is not None else v for k, v in changes.items()})
        except Exception as exc:  # noqa: BLE001 — shown in the message area
            return views.message_html(f"{problem_message(exc)} (training keeps its previous values)")
        applied = ", ".join(f"{name}={value:g}" for name, value in changes.items())
        return views.message_html(f"Applied from the next step: {applied}.", "info")

    def render_run(self, request, force=False):
        """Outputs for RUN_OUTPUTS from the newest snapshot; all skipped when nothing changed (cheap ticks)."""
        session = session_of(self, request)
        trainer = session.trainer
        snapshot = None if trainer is None else trainer.snapshot()
        live_status = None if trainer is None else trainer.status   # newer than the snapshot's own
        running = live_status == "running"
        controls = self._control_updates(live_status, trainer is not None and trainer.run is not None)
        if not force and snapshot is session.scratch.get("rendered"):
            return (gr.skip(),) * 7 + (gr.skip() if running else gr.Timer(active=False),) + controls
        session.scratch["rendered"] = snapshot
        self.lab.remember_run(session, trainer, snapshot)       # for "Compare runs"
        if session.scratch.get("tab") == "explore" and not force:
            # Charts nobody sees cost the browser and the server time that slider renders need; the Train
            # tab's select event redraws everything (and restarts the timer) when the user comes back.
            return (gr.skip(),) * 7 + (gr.Timer(active=False),) + controls
        if snapshot is None:
            hidden = gr.update(visible=False)
            return (views.status_line(None), "", plots.loss_figure(empty_snapshot()).to_json(), hidden, hidden,
                    hidden, "", gr.Timer(active=False)) + controls
        self._toast_news(session, snapshot, live_status, force)
        toy = snapshot.toy is not None
        samples = gr.update(visible=False) if toy or snapshot.samples is None else gr.update(
            value=views.inline_image_html(views.sample_grid(snapshot), "samples from fixed noise"), visible=True)
        toy_plot = gr.update(visible=False) if not toy else gr.update(
            value=plots.toy_figure(views.thinned_toy(snapshot.toy)).to_json(), visible=True)
        return (views.status_line(snapshot, live_status), views.warnings_markdown(snapshot),
                views.loss_chart_json(snapshot, *session.scratch.get("chart", (1, "full"))), samples, toy_plot,
                gr.update(visible=toy),
                views.metrics_readout(snapshot), gr.Timer(active=running)) + controls

    @staticmethod
    def _control_updates(status, has_run) -> tuple:
        """Pause, Resume, Stop, Step, Reset enabled only when they apply, and a line saying why the others are not
        (cheap: sent with every tick, but Gradio drops unchanged props)."""
        states = control_states(status, has_run)
        return (*(gr.update(interactive=reason is None) for reason in states.values()), controls_hint(states))

    def _toast_news(self, session, snapshot, status, by_user):
        """Pop a toast for an error, or for the warnings behind a pause the trainer made itself (NaN, time
        cap). Advisory warnings (e.g. possible collapse) stay in the panel: toasts would cover the buttons."""
        previous, session.scratch["last_status"] = session.scratch.get("last_status"), status
        if snapshot.error:
            messages = [snapshot.error]
        elif previous == "running" and status == "paused" and not by_user:
            messages = snapshot.warnings
        else:
            return
        shown = session.scratch.setdefault("toasted", set())
        for message in messages:
            key = re.sub(r"\d[\d.,]*", "#", message)   # the same warning with new numbers is not news
            if key not in shown:
                shown.add(key)
                gr.Warning(message, duration=15)

    def run_status(self, request: gr.Request) -> dict:
        """The current run as plain data (for API clients; the page uses the tick)."""
        trainer = self.registry.trainer(request.session_hash)
        if trainer is None:
            return {"status": "none", "step": 0}
        s = trainer.snapshot()
        config = trainer.config          # the live one: set_hyperparams changes it before the next snapshot
        return {"status": s.status, "step": s.step, "steps_per_sec": s.steps_per_sec, "elapsed": s.wall_time,
                "warnings": list(s.warnings), "error": s.error, "metrics": dict(s.metrics),
                "dataset": pathlib.Path(config.dataset).name, "lr_g": config.lr_g, "lr_d": config.lr_d, "d_steps": config.d_steps}

    # -- save / load -----------------------------------------------------------------------------------
    @reported(3)
    def save(self, request: gr.Request, name):
        session = session_of(self, request)
        try:
            folder = save_session_run(session, name, self.root)
            note = f"Saved as {folder.name!r} (step {session.saved_step}); it is in the checkpoint lists now."
        except NoRoomToSave as exc:
            folder = save_for_download(session, name)
            note = f"Not kept on the server: {exc}. Download the zip to keep this run; you can load it back later."
        archive = zip_run(folder, session.temp_dir())
        return (str(archive), *self.checkpoint_dropdowns(request)), note

    @reported(SETTING_OUTPUTS + RUN_OUTPUTS)
    def load_checkpoint(self, request: gr.Request, source):
        from playground.engine.checkpoints import load_run

        path = self._checked_checkpoint(source, request)
        kept_note = self.registry.adopt_run(request.session_hash, load_run(path))
        return self._after_load(request, path.name, kept_note)

    @reported(SETTING_OUTPUTS + RUN_OUTPUTS)
    def load_upload(self, request: gr.Request, upload):
        import tempfile

        from playground.engine.checkpoints import load_run

        if not upload:
            raise SessionError("choose a run .zip (from 'Download run') first")
        with tempfile.TemporaryDirectory(prefix="gan-upload-") as folder:
            unpacked = unpack_run_zip(uploaded_file(upload), pathlib.Path(folder) / "uploaded run")
            run = load_run(unpacked, from_outside=True)
        kept_note = self.registry.adopt_run(request.session_hash, run)
        return self._after_load(request, pathlib.Path(str(upload)).name, kept_note)

    def _after_load(self, request, name, kept_note):
        """The loaded run's settings and views; the note also says where unsaved work went and what of the run's
        saved record could not be used."""
        trainer = self.registry.trainer(request.session_hash)
        config = trainer.config
        loaded = (f"Loaded {shown(name)}: press Train to continue training it, or explore it on the Explore tab "
                  "(source: this session's run).")
        note = " ".join(part for part in (loaded, kept_note, *trainer.snapshot().warnings) if part)
        dataset = config.dataset if config.dataset in [value for _, value in DATASETS] else "upload"
        return (dataset, *config_settings(config), *self.render_run(request, force=True)), note

    def _checked_checkpoint(self, source, request) -> pathlib.Path:
        """Only folders directly in the bundled checkpoints folder or in this visitor's own saved runs: an API
        caller cannot point the server at any other path, nor at another visitor's runs."""
        path = pathlib.Path(str(source or ""))
        owner = session_of(self, request).owner_key()
        allowed = {self.root.resolve(), owner_checkpoints_root(self.root, owner).resolve()}
        if not source or path.resolve().parent not in allowed or not (path / "meta.json").is_file():
            raise SessionError(f"{shown(source)} is not one of the listed checkpoints; pick one from the list")
        return path

    def checkpoint_dropdowns(self, request: gr.Request):
        """The bundled runs and this visitor's own saved ones."""
        choices = checkpoint_choices(self.root, session_of(self, request).owner_key())
        default = choices[0][1] if choices else None
        return (gr.update(choices=choices, value=default),
                gr.update(choices=[("this session's run", LIVE)] + choices))

    def page_load(self, request: gr.Request, secret=None):
        """First visit: claim the browser's saved runs by its secret (a new secret on a first visit, kept in
        the browser's local storage), list checkpoints and show the first bundled one, so sliders work
        before training."""
        secret = self.registry.claim_browser(request.session_hash, secret)
        checkpoint_list, sources = self.checkpoint_dropdowns(request)
        source = checkpoint_list["value"] or LIVE
        sources["value"] = source
        if source == LIVE:
            return (secret, checkpoint_list, sources) + (gr.skip(),) * (SLIDERS + 5)   # explore's refresh_outputs
        return (secret, checkpoint_list, sources, *self.explore.explore_refresh(request, source, "raw", 0, 1.0, None,
                                                                           *[0.0] * SLIDERS))

    def unload(self, request: gr.Request):
        self.registry.close(request.session_hash)


def warm_up(checkpoints_dir=None, ready_runs=READY_DATASETS) -> None:
    """Import TensorFlow and load + compile the first checkpoint, so the first visitor does not wait for it; build
    and trace a run of each default recipe in `ready_runs` (training/ready.py: Train then draws a step at once);
    then freeze what is loaded so far out of later garbage collections (see memory.collect_garbage).
    Failures are printed, not raised: the app keeps serving, and the handler that needs it shows the error."""

    started = time.perf_counter()
    try:
        import_engine()
        from playground.engine import devices

        print(devices.current().describe(), flush=True)
        choices = checkpoint_choices(checkpoints_dir or checkpoints_root(), None)
        if choices:
            sampler = SAMPLERS.get(choices[0][1])
            sampler.compile_render()
        from playground.training.ready import READY_RUNS

        READY_RUNS.fill(ready_runs)
        freeze_startup_objects()
        print(f"warm-up done in {time.perf_counter() - started:.1f} s", flush=True)
    except Exception as exc:  # noqa: BLE001 — reported, and every handler reports its own failure too
        print(f"warm-up failed ({type(exc).__name__}: {exc}); the app still serves", flush=True)


def launch_options(environ=None) -> dict:
    """demo.launch's options that enforce the app's limits at Gradio's door: uploads larger than
    GAN_MAX_UPLOAD_MB are refused before they are stored (app.py and the tests launch with these)."""
    limits = UploadLimits.from_env(environ)
    return dict(max_file_size=int(limits.max_upload_mb * 1024 * 1024))


# == layout and wiring ===================================================================================
def build_demo(registry: SessionRegistry | None = None, checkpoints_dir=None) -> gr.Blocks:
    ui = PlaygroundUI(registry or SessionRegistry.from_env(), checkpoints_dir or checkpoints_root())
    gr.set_static_paths([PLOTLY_JS, TFJS_JS])          # just these files: the live charts, the in-page generator
    # delete_cache: downloads (run zips, GIFs) live in Gradio's cache; drop those older than a day, hourly.
    with GuardedBlocks(title="GAN Playground", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        # The browser's secret: whose saved runs this visitor sees (Session.owner). A fixed storage key and
        # encryption key, so it survives server restarts.
        secret = gr.BrowserState(None, storage_key="gan-playground-owner",
                                 secret=os.environ.get("GAN_BROWSER_STATE_KEY", "gan-playground"))
        gr.Markdown("# GAN Playground\nTrain a GAN in your browser tab and watch it learn; then explore its "
                    "latent space.")
        with gr.Tabs():
            with gr.Tab("Train", id="train", elem_id="train-tab") as train_tab:
                train = layout.train_tab(ui, views.status_line(None), plots.loss_figure(empty_snapshot()).to_json())
            with gr.Tab("Explore", id="explore", elem_id="explore-tab") as explore_tab:
                explore = layout.explore_tab(ui.explore)
        quick = dict(concurrency_limit=None, show_progress="hidden", api_visibility="private")
        train_tab.select(ui.show_train_tab, None, train["run_outputs"], **quick)
        explore_tab.select(ui.show_explore_tab, None, train["timer"], **quick)
        lists = [train["checkpoint_list"], explore["source"]]
        train["save_button"].click(ui.save, train["run_name"], [train["download"], *lists, train["message"]],
                                   api_name="save",
                                   concurrency_limit=2, concurrency_id="disk")
        explore["refresh_button"].click(ui.checkpoint_dropdowns, None, lists, concurrency_limit=None,
                                        api_visibility="private")
        demo.load(ui.page_load, secret, [secret, *lists, *explore["refresh_outputs"]], concurrency_limit=None,
                  api_visibility="private")
        demo.load(ui.guide.data_preview, train["dataset"], train["data_preview"], concurrency_limit=None,
                  api_visibility="private")
        demo.unload(ui.unload)
        gr.api(ui.run_status, api_name="run_status", concurrency_limit=None)
    return demo
