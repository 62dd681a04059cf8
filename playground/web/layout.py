"""The page's layout: the components and event wiring of the Train and Explore tabs. The handlers live in
playground.web.app.PlaygroundUI (passed in as `ui`; its Explore handlers are in playground.web.explore);
playground.web.app.build_demo puts the tabs on the page.
"""
import pathlib

import gradio as gr
import numpy as np
import plotly

from playground.engine.config import LOSSES, default_config
from playground.web import lab_js
from playground.web.compare import CURVES
from playground.web.lab_plots import LAYER_TRACES
from playground.web.errors import checked_number
from playground.web.experiments import EXPERIMENTS
from playground.web.flow import CONTROLS, control_states, controls_hint
from playground.web.views import SLIDER_LIMIT

DATASETS = [("ring (2D)", "ring"), ("grid (2D)", "grid"), ("spiral (2D)", "spiral"), ("moons (2D)", "moons"),
            ("my points (2D)", "points"), ("digits (bundled MNIST subset)", "digits"), ("MNIST (download)", "mnist"),
            ("Fashion-MNIST (download)", "fashion"), ("upload (.zip of images / .npz)", "upload")]
_T = np.linspace(0, 2 * np.pi, 64, endpoint=False)     # a heart: editable starting points for "my points"
EXAMPLE_POINTS = "\n".join(f"{x:.2f}, {y:.2f}" for x, y in zip(
    np.sin(_T) ** 3 * 2, (13 * np.cos(_T) - 5 * np.cos(2 * _T) - 2 * np.cos(3 * _T) - np.cos(4 * _T)) / 8))
LIVE = "live"
SLIDERS = 6
PAGE_DIRECTIONS = 10           # PCA directions the in-page explorer offers
STATIC = pathlib.Path(__file__).parent / "static"
TFJS_JS = STATIC / "tfjs" / "tf.min.js"        # vendored by scripts/vendor_tfjs.sh, served by the app itself
PAGE_JS = (STATIC / "explore.js").read_text()
PAGE_REFRESH_SECONDS = 3.0     # the live run's weights reach the page this often (only when they changed)
INTRO = ("**New to GANs?** Two small networks play a game. The **generator (G)** turns random noise into samples; "
         "the **discriminator (D)** looks at real data and at G's samples and guesses which is which. Each step D gets "
         "better at telling them apart and G gets better at fooling it. **Watch** the samples spread over the real "
         "data (purple dots over green ones, or noise turning into digits), and the two losses hover near each other "
         "rather than one of them running off.")
INITIAL_HINT = controls_hint(control_states(None, False))
PAGE_CSS = """
.gan-message { padding: 6px 10px; border-radius: 6px; margin: 2px 0; }
.gan-error { background: #fdecea; color: #8a1c12; border: 1px solid #f5c2bd; }
.gan-info { background: #eef5fd; color: #123d6a; border: 1px solid #c4dcf5; }
#controls-hint { font-size: 0.85em; opacity: 0.75; min-height: 1em; }
#controls-hint p { margin: 0; }
.gan-messages:not(:has(.gan-message)) { display: none; }
"""
TOY_NOTE = ("**What am I looking at?** Green dots are real data, purple dots are the generator's samples. "
            "The background is the discriminator's verdict: green where it says *real*, purple where it says "
            "*fake*. Each arrow shows where the generator's gradient pushes a sample. Training works when the "
            "purple dots spread over every green cluster. With `clusters` on (the ring's default), G and D also get "
            "each point's k-means cluster as a label, and the background is D's verdict on each spot as a member of "
            "its nearest cluster; set `clusters` to 0 to watch a plain GAN.")
# gr.Plot re-creates its chart on every new value (Gradio 6.31 keys the plotly child on the value), which
# loses the user's zoom and redraws from scratch. This small HTML component keeps one chart div and calls
# Plotly.react on it: with a constant layout.uirevision plotly keeps zoom/pan, and updates are incremental.
PLOTLY_JS = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"   # offline, same version
LIVE_PLOT_JS = """
const chart = element.querySelector('.live-plot');
const draw = () => {
  if (!props.value) { Plotly.purge(chart); return; }
  const figure = JSON.parse(props.value);%s
  Plotly.react(chart, figure.data, figure.layout, {responsive: true, displaylogo: false});
};
watch('value', draw);
draw();
""" % lab_js.HIDE_LAYERS_JS


def _live_plot(elem_id, value="", visible=True):
    """A plotly chart that updates in place (see LIVE_PLOT_JS); its value is the figure's JSON."""
    return gr.HTML(value, html_template='<div class="live-plot"></div>', js_on_load=LIVE_PLOT_JS, elem_id=elem_id,
                   head=f'<script src="gradio_api/file={PLOTLY_JS}"></script>', visible=visible, min_height=380)


def _picture(elem_id, visible=True, min_height=None):
    """An image shown from inline HTML (see playground.web.views.inline_image_html)."""
    return gr.HTML("", js_on_load=None, elem_id=elem_id, visible=visible, min_height=min_height)


def _page_explorer():
    """The Explore tab's in-page generator (static/explore.js); its value is the exported model's JSON."""
    template = f'<div class="gan-page" data-tfjs="gradio_api/file={TFJS_JS}" hidden></div>'   # loaded on first view
    return gr.HTML("", html_template=template, js_on_load=PAGE_JS, elem_id="explore-page", padding=False)


def message_area(elem_id, **options):
    """An area's one place for problems and notes, beside its controls: a handler wrapped in errors.reported
    writes it (its last output); hidden while empty."""
    return gr.HTML("", elem_id=elem_id, padding=False, elem_classes="gan-messages", **options)


def _number(label, value, elem_id, precision=None, step=1, info=None):
    return checked_number(value=value, label=label, precision=precision, step=step, elem_id=elem_id, info=info)


def train_tab(ui, status_text, loss_chart):
    """The Train tab; `status_text` and `loss_chart` (figure JSON) are what the page shows before any run."""
    c = default_config("ring")
    gr.Markdown(INTRO, elem_id="intro")
    controls = control_bar()
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            with gr.Accordion("Experiments: one click sets everything up, then press Train", open=True,
                              elem_id="experiments"):
                with gr.Row():
                    experiment_buttons = {key: gr.Button(chosen.label, size="sm", min_width=120,
                                                         elem_id=f"experiment-{key}")
                                          for key, chosen in EXPERIMENTS.items()}
            dataset = gr.Dropdown(DATASETS, value="ring", label="dataset", elem_id="dataset")
            data_preview = _picture("data-preview", min_height=120)
            # The pad sits above the box: the box grows as points are drawn and would move the pad mid-stroke.
            draw_pad = gr.HTML("", html_template=lab_js.DRAW_HTML, js_on_load=lab_js.DRAW_JS, visible=False,
                               elem_id="draw-pad", label="draw points")
            points_text = gr.Textbox(EXAMPLE_POINTS, lines=6, label="points: one 'x, y' per line (8 or more)",
                                     visible=False, elem_id="points")
            upload = gr.File(label="images: .zip (class sub-folders give labels) or .npz", file_types=[".zip", ".npz"],
                             visible=False, elem_id="upload")
            loss = gr.Dropdown(list(LOSSES), value=c.loss, label="loss", elem_id="loss",
                               info="how D scores real and fake; each gives different-looking loss curves")
            with gr.Row():
                lr_g = _number("lr_g: G's learning rate", c.lr_g, "lr-g", step=1e-4, info="changes apply while training")
                lr_d = _number("lr_d: D's learning rate", c.lr_d, "lr-d", step=1e-4, info="changes apply while training")
            with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
                advanced = advanced_settings(c)
            share = share_controls()
        with gr.Column(scale=2):
            status = gr.Markdown(status_text, elem_id="status")
            warnings = gr.Markdown("", elem_id="warnings")
            loss_plot = _live_plot("loss-plot", loss_chart)
            with gr.Row(elem_id="chart-options"):
                chart_window = gr.Radio([("whole run", "full"), ("last 1,000 steps", "recent")], value="full",
                                        label="loss chart shows", elem_id="chart-window", scale=2)
                smoothing = gr.Slider(1, 50, value=1, step=1, label="smoothing (points averaged)",
                                      elem_id="chart-smoothing", scale=2)
            toy_plot = _live_plot("toy-plot", visible=False)
            with gr.Column(visible=False, elem_id="toy-extras") as toy_extras:    # shown with the 2D view
                view = view_controls()
                gr.Markdown(TOY_NOTE, elem_id="toy-note")
            samples = _picture("samples", visible=False)
            metrics = gr.Markdown("", elem_id="metrics")
            timeline = timeline_controls()
            with gr.Accordion("Step options", open=False, elem_id="step-options"):
                with gr.Row():
                    step_which = gr.Radio([("D and G", "both"), ("D only", "d"), ("G only", "g")], value="both",
                                          label="Step trains", elem_id="step-which", scale=2)
                    step_n = _number("steps per Step", 1, "step-n", precision=0)
            with gr.Accordion("Save / load a run", open=False, elem_id="save-load"):
                with gr.Row():
                    run_name = gr.Textbox(label="name", placeholder="my-ring-run", elem_id="run-name")
                    save_button = gr.Button("Save run", elem_id="save-button")
                download = gr.File(label="download run (.zip)", interactive=False, elem_id="download")
                with gr.Row():
                    checkpoint_list = gr.Dropdown([], label="checkpoint", elem_id="checkpoint-list", scale=3,
                                                  allow_custom_value=True)
                    load_button = gr.Button("Load", elem_id="load-button")
                with gr.Row():
                    run_zip = gr.File(label="or upload a run .zip", file_types=[".zip"], elem_id="run-zip")
                    load_zip_button = gr.Button("Load uploaded run", elem_id="load-zip-button")
                with gr.Row():
                    kept = gr.Dropdown([], label="earlier runs of this session (kept when another run replaced them)",
                                       elem_id="kept-runs", scale=3)
                    bring_back_button = gr.Button("Bring back", elem_id="bring-back-button")
            compare = compare_controls()
    timer = gr.Timer(0.5, active=False)

    a = advanced
    settings = [dataset, loss, a["width"], a["latent_dim"], a["batch_size"], lr_g, lr_d, a["d_steps"], a["seed"],
                a["ema"], a["r1_gamma"], a["augment"], a["conditional"], a["clusters"], a["max_images"], points_text,
                upload]
    message = controls["message"]
    run_outputs = [status, warnings, loss_plot, samples, toy_plot, toy_extras, metrics, timer,
                   *(controls[name] for name in CONTROLS), controls["hint"]]
    setting_outputs = settings[:-2]      # all but the points and the upload
    quick = dict(concurrency_limit=None, show_progress="hidden")
    dataset.input(ui.defaults_for, dataset, setting_outputs[1:] + [points_text, upload], **quick,
                  api_visibility="private")
    dataset.change(ui.guide.data_preview, [dataset, points_text], data_preview, **quick, api_visibility="private")
    points_text.blur(ui.guide.data_preview, [dataset, points_text], data_preview, **quick, api_visibility="private")
    for key, button in experiment_buttons.items():
        button.click(lambda key=key: ui.guide.use_experiment(key), None,
                     setting_outputs + [points_text, upload, message], **quick, api_visibility="private")
    actions = run_outputs + [message]
    controls["train"].click(ui.train, settings, actions, api_name="train", concurrency_limit=4).then(
        ui.guide.kept_list, None, kept, **quick, api_visibility="private")
    for name, action in (("pause", ui.pause), ("resume", ui.resume), ("stop", ui.stop)):
        controls[name].click(action, None, actions, api_name=action.__name__, concurrency_limit=8,
                             concurrency_id="controls")
    controls["step"].click(ui.step, [step_which, step_n, *settings], actions, api_name="step", concurrency_limit=2)
    controls["reset"].click(ui.reset, settings, actions, api_name="reset", concurrency_limit=8,
                            concurrency_id="controls")
    timer.tick(ui.tick, None, run_outputs, **quick, api_visibility="private")
    for event in (chart_window.input, smoothing.release):
        event(ui.guide.chart_options, [smoothing, chart_window], run_outputs, **quick, api_visibility="private")
    hyper = [lr_g, lr_d, a["d_steps"]]
    lr_g.submit(ui.set_hyperparams, hyper, message, **quick, api_name="set_hyperparams")
    for event in (lr_d.submit, a["d_steps"].submit, lr_g.blur, lr_d.blur, a["d_steps"].blur):
        event(ui.set_hyperparams, hyper, message, **quick, api_visibility="private")
    load_outputs = setting_outputs + actions
    load_button.click(ui.load_checkpoint, checkpoint_list, load_outputs, api_name="load", concurrency_limit=2,
                      concurrency_id="disk").then(ui.guide.kept_list, None, kept, **quick, api_visibility="private")
    load_zip_button.click(ui.load_upload, run_zip, load_outputs, api_name="load_zip", concurrency_limit=2,
                          concurrency_id="disk").then(ui.guide.kept_list, None, kept, **quick, api_visibility="private")
    bring_back_button.click(ui.guide.bring_back, kept, actions, api_name="bring_back", concurrency_limit=2).then(
        ui.guide.kept_list, None, kept, **quick, api_visibility="private")
    timeline["position"].input(ui.guide.timeline_frame, timeline["position"], [timeline["frame"], timeline["message"]],
                               **quick, trigger_mode="always_last", api_name="timeline_frame")
    timeline["gif_button"].click(ui.guide.timeline_gif, None, [timeline["gif"], timeline["message"]],
                                 api_name="timeline_gif", concurrency_limit=2)
    wire_lab(ui.lab, dict(view, **share, **compare, draw_pad=draw_pad, message=message), dataset, settings,
             setting_outputs, run_outputs)
    areas = [timeline["message"], view["lab_message"], compare["compare_message"]]
    run_buttons = [controls[name] for name in ("train", "pause", "resume", "stop", "step", "reset")]
    for button in (*run_buttons, load_button, load_zip_button, bring_back_button):
        button.click(None, None, areas, js=f"() => {[''] * len(areas)}")   # a new run makes their notes stale
    return dict(checkpoint_list=checkpoint_list, save_button=save_button, run_name=run_name, download=download,
                run_outputs=run_outputs, timer=timer, message=message, dataset=dataset, data_preview=data_preview)


def control_bar():
    """Train first and loudest; the others enabled only when they apply, with the reason beside them; Reset quiet."""
    with gr.Row(elem_id="control-bar", equal_height=True):
        buttons = dict(train=gr.Button("Train", variant="primary", elem_id="train-button", min_width=90, scale=2))
        for name in ("pause", "resume", "stop", "step"):
            buttons[name] = gr.Button(name.capitalize(), elem_id=f"{name}-button", min_width=70, scale=1,
                                      interactive=name == "step")
        buttons["reset"] = gr.Button("Reset", size="sm", variant="secondary", elem_id="reset-button", min_width=60,
                                     scale=0, interactive=False)
    buttons["hint"] = gr.Markdown(INITIAL_HINT, elem_id="controls-hint")
    buttons["message"] = message_area("message", head=f"<style>{PAGE_CSS}</style>")
    return buttons


def advanced_settings(c):
    """The settings a first run does not need, each with one line of help."""
    with gr.Row():
        width = _number("width", c.width, "width", precision=0, step=8, info="model size: units (2D) or channels")
        latent_dim = _number("latent_dim", c.latent_dim, "latent-dim", precision=0, info="length of G's noise input")
        batch_size = _number("batch_size", c.batch_size, "batch-size", precision=0, step=16,
                             info="real examples D sees per step")
    with gr.Row():
        d_steps = _number("d_steps", c.d_steps, "d-steps", precision=0, info="D updates per G update (live)")
        seed = _number("seed", c.seed, "seed", precision=0, info="same seed, same run")
        ema = _number("ema (0 = off)", c.ema, "ema", step=0.001, info="samples from G's running average: steadier")
    with gr.Row():
        r1_gamma = _number("r1_gamma (0 = off)", c.r1_gamma, "r1-gamma", step=0.05,
                           info="R1 penalty: keeps D smooth around real data")
        clusters = _number("clusters (0 = off)", c.clusters, "clusters", precision=0,
                           info="k-means groups G and D are told about: fewer dropped modes")
        max_images = _number("max_images (0 = all)", c.max_images, "max-images", precision=0, step=50,
                             info="train on only this many images (the same ones every epoch)")
    augment = gr.Checkbox(c.augment, label="augment: shift images before D sees them (helps with few images)",
                          elem_id="augment")
    conditional = gr.Radio(["auto", "on", "off"], value="auto", label="conditional: G makes the class it is asked for "
                           "(auto: when the data has classes)", elem_id="conditional")
    return dict(width=width, latent_dim=latent_dim, batch_size=batch_size, d_steps=d_steps, seed=seed, ema=ema,
                r1_gamma=r1_gamma, augment=augment, conditional=conditional, clusters=clusters,
                max_images=max_images)


def timeline_controls():
    with gr.Accordion("Timeline: how it learned (a snapshot every few steps)", open=True, elem_id="timeline"):
        position = gr.Slider(0, 100, value=100, step=1, label="scrub: start → now (%)", elem_id="timeline-position")
        frame = _picture("timeline-frame")
        with gr.Row():
            gif_button = gr.Button("Download training GIF", size="sm", elem_id="timeline-gif-button", scale=0,
                                   min_width=180)
            gif = gr.File(label="training GIF", interactive=False, elem_id="timeline-gif", scale=2, visible=False)
        message = message_area("timeline-message")
    return dict(position=position, frame=frame, gif_button=gif_button, gif=gif, message=message)


# == The GAN-Lab additions to the Train tab: view layers, slow motion, share links, compared runs ==========
def view_controls():
    """Under the 2D view: which layers it draws (toggled in the browser) and the slow-motion step."""
    with gr.Row():
        layers = gr.CheckboxGroup(list(LAYER_TRACES), value=list(LAYER_TRACES), label="show", elem_id="layers",
                                  scale=3)
        slow_button = gr.Button("Slow-motion step (D, then G)", elem_id="slow-step-button", scale=1, min_width=160)
    return dict(layers=layers, slow_button=slow_button, lab_message=message_area("lab-message"))


def share_controls():
    """A link that opens this page with these settings (query parameters named like the CLI's flags)."""
    with gr.Row():
        link_button = gr.Button("Copy link to these settings", size="sm", elem_id="copy-link", scale=0, min_width=120)
        link = gr.Textbox(label="link", interactive=False, elem_id="share-link", scale=3, max_lines=1)
    link_note = gr.Markdown("", elem_id="link-note")
    return dict(link_button=link_button, link=link, link_note=link_note)


def compare_controls():
    with gr.Accordion("Compare runs", open=False, elem_id="compare"):
        with gr.Row():
            curve = gr.Dropdown([(label, key) for key, (label, _) in CURVES.items()], value="g_loss", label="curve",
                                elem_id="compare-curve", scale=2)
            compare_button = gr.Button("Compare this session's runs", elem_id="compare-button", scale=1)
        compare_message = message_area("compare-message")
        compare_plot = _live_plot("compare-plot")
    return dict(curve=curve, compare_button=compare_button, compare_plot=compare_plot, compare_message=compare_message)


def wire_lab(handlers, lab, dataset, settings, setting_outputs, run_outputs):
    quick = dict(concurrency_limit=None, show_progress="hidden", api_visibility="private")
    lab["layers"].change(None, lab["layers"], None, js=lab_js.LAYERS_JS)      # browser only: no server work
    # No progress overlay: it would fade the view while the slow-motion frames play.
    lab["slow_button"].click(handlers.slow_step, settings, run_outputs + [lab["lab_message"]], api_name="slow_step",
                             concurrency_limit=2, show_progress="hidden")
    dataset.change(lambda name: gr.update(visible=name == "points"), dataset, lab["draw_pad"], **quick)
    gr.on(None, handlers.settings_from_link, None, setting_outputs + [lab["link_note"]], **quick)   # on page load
    # The server writes the query ("?dataset=…"); the browser puts its own address in front and copies it.
    lab["link_button"].click(handlers.share_query, settings, [lab["link"], lab["message"]], **quick).success(
        None, lab["link"], lab["link"], js=lab_js.COPY_LINK_JS)
    lab["compare_button"].click(handlers.compare_runs, lab["curve"], [lab["compare_plot"], lab["compare_message"]],
                                concurrency_limit=4, api_name="compare_runs")


def explore_tab(handlers):
    gr.Markdown("Pick a model, then drag the sliders: every change regenerates the sample at once. "
                "*PCA directions* (GANSpace) move along the directions that change the output most.")
    with gr.Row():
        # allow_custom_value: the list is filled per page load; _checked_checkpoint is the real guard.
        source = gr.Dropdown([("this session's run", LIVE)], value=LIVE, label="model", elem_id="explore-source",
                             scale=3, allow_custom_value=True)
        refresh_button = gr.Button("refresh list", elem_id="refresh-sources", scale=0, min_width=100)
    message = message_area("explore-message")        # the tab's one place for problems, under the model choice
    page = _page_explorer()
    page_timer = gr.Timer(PAGE_REFRESH_SECONDS, active=True)
    with gr.Row(elem_id="explore-server"):     # the server-rendered fallback; the page hides it when it renders
        with gr.Column(scale=1, min_width=300):
            mode = gr.Radio([("first latent dimensions", "raw"), ("PCA directions", "pca")], value="raw",
                            label="sliders move", elem_id="explore-mode")
            with gr.Row():
                seed = _number("seed", 0, "explore-seed", precision=0)
                random_button = gr.Button("random seed", elem_id="random-seed", min_width=80)
            psi = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="truncation ψ (1 = none)", elem_id="psi")
            label = gr.Dropdown([], value=None, label="class", visible=False, elem_id="explore-class",
                                allow_custom_value=True)
            sliders = [gr.Slider(-SLIDER_LIMIT, SLIDER_LIMIT, value=0.0, step=0.05, label=f"z[{i}]",
                                 elem_id=f"z-slider-{i}") for i in range(SLIDERS)]
            directions_button = gr.Button("Recompute PCA directions (the live model keeps changing)",
                                          size="sm", elem_id="recompute-directions")
        with gr.Column(scale=1):
            image = _picture("explore-image", min_height=240)
            plot = _live_plot("explore-plot", visible=False)
            info = gr.Markdown("", elem_id="explore-info")
    with gr.Accordion("Interpolation strip and GIF (rendered on the server)", open=True, elem_id="interpolation"):
        with gr.Row():
            seed_a = _number("from seed", 0, "seed-a", precision=0)
            seed_b = _number("to seed", 1, "seed-b", precision=0)
            how = gr.Radio([("spherical (slerp)", "spherical"), ("linear", "linear")], value="spherical",
                           label="path", elem_id="interp-mode")
            frames = gr.Slider(2, 32, value=12, step=1, label="frames", elem_id="interp-frames")
            interp_button = gr.Button("Interpolate", variant="primary", elem_id="interp-button")
        strip = _picture("interp-strip", visible=False)
        with gr.Row():
            with gr.Column():
                frame = gr.Slider(0, 11, value=0, step=1, label="scrub frame", elem_id="interp-frame")
                gif = gr.File(label="GIF", interactive=False, visible=False, elem_id="interp-gif")
            frame_image = _picture("interp-frame-image", visible=False)
            frame_plot = _live_plot("interp-plot", visible=False)

    inputs = [source, mode, seed, psi, label, *sliders]
    refresh_outputs = [*sliders, label, image, plot, info, message]
    fast = dict(trigger_mode="always_last", show_progress="hidden", concurrency_limit=None)
    # Slider renders skip Gradio's queue: the page POSTs them straight to /run/explore_render. A render is a
    # few ms of model work, while a queued event's join + event-stream round trip cost more than that under
    # load (scripts/load_test.py measures both paths).
    # They also skip Gradio's per-component pre/postprocessing: each is a hop to a worker thread (11 inputs and 2
    # outputs: 14 hops per drag with the call), and those hops were the server's largest cost in the 8-session
    # load test. The handlers check the raw values themselves (views.checked_sliders, views.whole_number,
    # latent.truncate).
    instant = dict(fast, queue=False, preprocess=False, postprocess=False)
    psi.input(handlers.explore_render, inputs, [image, plot, message], **instant, api_name="explore_render")
    for slider in sliders:
        slider.input(handlers.explore_render, inputs, [image, plot, message], **instant, api_visibility="private")
    source.input(handlers.explore_refresh, inputs, refresh_outputs, **fast, api_name="explore_refresh")
    source.input(handlers.clear_interpolation, None, [strip, gif, frame_image, frame_plot], **fast, api_visibility="private")
    source.change(handlers.page_source, source, [page, page_timer], **fast, api_visibility="private")
    page.click(handlers.page_model, source, page, **fast, api_visibility="private")     # the page's request (explore.js)
    page_timer.tick(handlers.page_tick, source, page, **fast, api_visibility="private")
    for event in (mode.input, seed.input, label.input):
        event(handlers.explore_refresh, inputs, refresh_outputs, **fast, api_visibility="private")
    random_button.click(handlers.random_seed, inputs, [seed, *refresh_outputs], **fast, api_visibility="private")
    directions_button.click(handlers.recompute_directions, inputs, refresh_outputs, concurrency_limit=2,
                            api_visibility="private")
    interp_button.click(handlers.interpolate, [source, seed_a, seed_b, how, frames, psi, label],
                        [strip, gif, frame, frame_image, frame_plot, message], api_name="interpolate",
                        concurrency_limit=4)
    frame.input(handlers.scrub, frame, [frame_image, frame_plot, message], **instant, api_name="scrub")
    return dict(source=source, refresh_button=refresh_button, refresh_outputs=refresh_outputs)
