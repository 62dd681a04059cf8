"""`python -m playground.bench_page`: the page in headless Chromium. The Train tab: click on Train → the first
trained step drawn (ring, digits). The Explore tab's in-page generator: time from a slider's input event to the new
pixels drawn, for the bundled digits and ring, while another session trains; plus how long the page takes to load
TensorFlow.js and the model. Needs Playwright and Debian's /usr/bin/chromium (dev tools).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import socket
import time

import numpy as np

CHROMIUM = "/usr/bin/chromium"
# Drags one slider back and forth; resolves with the page's own timings (explore.js: input event → canvas drawn).
DRAG_JS = """async (moves) => {
  const slider = document.querySelector("#explore-page .gp-slider[data-i='0']");
  const start = window.ganPage.times.length;
  for (let i = 0; i < moves; i++) {
    slider.value = (-3 + 6 * ((i % 50) / 49)).toFixed(2);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise((resolve) => setTimeout(resolve, 8));
  }
  return window.ganPage.times.slice(start);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentiles(times) -> tuple[float, float]:
    return round(float(np.percentile(times, 50)), 2), round(float(np.percentile(times, 95)), 2)


@contextlib.contextmanager
def _served_page(registry, warm: bool = False):
    """The app on a free 127.0.0.1 port (warmed up as app.py does, when `warm`) and a headless Chromium page on it."""
    from playwright.sync_api import sync_playwright

    from playground.web.app import build_demo, warm_up
    from playground.web.sessions import checkpoints_root

    demo = build_demo(registry=registry, checkpoints_dir=checkpoints_root())
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True)
    try:
        if warm:
            warm_up()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector("#train-button")
            yield page
            browser.close()
    finally:
        registry.close_all()
        demo.close()


def page_slider_latencies(moves: int = 200, train_while: bool = True) -> dict:
    """{"page_slider_<model>_p50_ms" / "_p95_ms", "page_tfjs_load_ms" (fetching the bundle), "page_model_ready_ms" (navigation → the digits model drawn in the page)}."""
    from playground.engine.config import default_config
    from playground.web.sessions import SessionRegistry

    registry = SessionRegistry(max_trainings=2, max_train_seconds=None)
    result = {"page_slider_moves": moves, "page_training_meanwhile": train_while}
    if train_while:
        registry.start("bench-other-visitor", default_config("digits"))
    with _served_page(registry) as page:
        page.click("#explore-tab-button")
        for label, name in (("bundled: digits", "digits"), ("bundled: ring", "ring")):
            if name != "digits":
                page.click("#explore-source input")
                page.get_by_role("option", name=label).click()
            page.wait_for_function("(n) => window.ganPage && (window.ganPage.key || '').includes(n)", arg=name)
            if name == "digits":
                result["page_tfjs_load_ms"] = round(page.evaluate(
                    "() => performance.getEntriesByType('resource').find((e) => e.name.includes('tf.min.js'))"
                    ".duration"), 1)
                result["page_model_ready_ms"] = round(page.evaluate("() => performance.now()"), 1)
            times = page.evaluate(DRAG_JS, moves)
            result[f"page_slider_{name}_p50_ms"], result[f"page_slider_{name}_p95_ms"] = _percentiles(times)
    return result


# Clicks Train; resolves with the time until the status line shows a trained step (it is drawn in the same update
# as the loss chart and the sample grid or 2D view).
FIRST_STEP_JS = """async () => {
  const started = performance.now();
  document.querySelector('#train-button').click();
  return await new Promise((resolve, reject) => {
    const check = () => {
      if (/running · step [1-9]/.test(document.querySelector('#status').innerText)) resolve(performance.now() - started);
      else if (performance.now() - started > 60000) reject(new Error('no trained step within 60 s'));
      else requestAnimationFrame(check);
    };
    check();
  });
}"""


def page_first_step_times(datasets=("ring", "digits")) -> dict:
    """{"page_first_step_<dataset>_ms"}: click on Train → the first trained step drawn, each dataset's default recipe,
    in a server warmed up as app.py does (the 'after start-up' case)."""
    from playground.engine.config import default_config
    from playground.web.layout import DATASETS
    from playground.web.sessions import SessionRegistry

    labels = {value: label for label, value in DATASETS}
    result = {}
    with _served_page(SessionRegistry(max_trainings=2, max_train_seconds=None), warm=True) as page:
        for name in datasets:
            page.click("#dataset input")
            page.get_by_role("option", name=labels[name]).click()
            page.wait_for_function("(n) => document.querySelector('#loss input').value === n",
                                   arg=default_config(name).loss)      # the recipe is filled in
            result[f"page_first_step_{name}_ms"] = round(page.evaluate(FIRST_STEP_JS), 1)
            page.click("#stop-button")
            page.wait_for_function("() => document.querySelector('#status').innerText.startsWith('stopped')")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=200, help="slider moves per model (>= 100)")
    parser.add_argument("--idle", action="store_true", help="no training in another session meanwhile")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = {**page_first_step_times(), **page_slider_latencies(max(100, args.moves), train_while=not args.idle)}
    result["page_bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
