"""`python -m playground.bench_page`: the Explore tab's in-page generator in headless Chromium — time from a slider's
input event to the new pixels drawn, for the bundled digits and ring, while another session trains; plus how long
the page takes to load TensorFlow.js and the model. Needs Playwright and Debian's /usr/bin/chromium (dev tools).
"""
from __future__ import annotations

import argparse
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


def page_slider_latencies(moves: int = 200, train_while: bool = True) -> dict:
    """{"page_slider_<model>_p50_ms" / "_p95_ms", "page_tfjs_load_ms" (fetching the bundle), "page_model_ready_ms" (navigation → the digits model drawn in the page)}."""
    from playwright.sync_api import sync_playwright

    from playground.engine.config import default_config
    from playground.web.app import build_demo
    from playground.web.sessions import SessionRegistry, checkpoints_root

    registry = SessionRegistry(max_trainings=2, max_train_seconds=None)
    demo = build_demo(registry=registry, checkpoints_dir=checkpoints_root())
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(),
                                quiet=True)
    result = {"page_slider_moves": moves, "page_training_meanwhile": train_while}
    try:
        if train_while:
            registry.start("bench-other-visitor", default_config("digits"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
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
            browser.close()
    finally:
        registry.close_all()
        demo.close()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=200, help="slider moves per model (>= 100)")
    parser.add_argument("--idle", action="store_true", help="no training in another session meanwhile")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = page_slider_latencies(max(100, args.moves), train_while=not args.idle)
    result["page_bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
