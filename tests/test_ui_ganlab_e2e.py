"""The GAN-Lab additions in a real browser (Debian's chromium via Playwright) against a real server: a shared
link fills the settings, the manifold mesh is drawn and follows a G step, a layer checkbox hides its traces,
points drawn with the mouse are what the GAN trains on, and two runs share one comparison chart.
"""
import math

import pytest

from test_ui_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, app_url, wait_until  # noqa: F401 (app_url: a fixture)

# A trace of a live plot, decoded by plotly.js (_fullData); null while the chart is not drawn.
TRACE_JS = """([plot, name]) => {
  const chart = document.querySelector(`#${plot} .js-plotly-plot`);
  const trace = chart && chart._fullData ? chart._fullData.find((t) => t.name === name) : null;
  return trace ? {x: Array.from(trace.x || []), y: Array.from(trace.y || []), visible: trace.visible} : null;
}"""
TITLE_JS = """() => {
  const chart = document.querySelector('#toy-plot .js-plotly-plot');
  return chart && chart._fullLayout ? chart._fullLayout.title.text : '';
}"""
TRACE_NAMES_JS = """(plot) => {
  const chart = document.querySelector(`#${plot} .js-plotly-plot`);
  return chart && chart._fullData ? chart._fullData.map((t) => t.name) : [];
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.wait_for_selector("#train-button")
    return page


def opened(page, accordion, inside):
    """Open a folded section of the Train tab (Advanced settings, Step options) unless `inside` already shows."""
    if not page.is_visible(inside):
        page.click(f"#{accordion} .label-wrap")
        page.wait_for_selector(inside, state="visible")


def trace(page, name, plot="toy-plot"):
    return page.evaluate(TRACE_JS, [plot, name])


def test_a_shared_link_opens_with_its_settings_and_names_a_bad_parameter(browser, app_url):
    page = open_page(browser, app_url + "?dataset=grid&loss=hinge&lr-g=0.001&colour=red")
    wait_until(page, "() => document.querySelector('#loss input').value === 'hinge'")
    assert page.input_value("#lr-g input") == "0.001" and page.input_value("#dataset input") == "grid (2D)"
    assert "unknown link parameter 'colour'" in page.inner_text("#link-note")
    opened(page, "advanced", "#seed input")
    page.fill("#seed input", "7")
    page.click("#copy-link")
    wait_until(page, "() => document.querySelector('#share-link input').value.startsWith('http')")
    link = page.input_value("#share-link input")
    assert link.endswith("?dataset=grid&loss=hinge&lr-g=0.001&seed=7") and link.startswith(app_url.rstrip("/"))
    page.close()


def test_manifold_follows_a_g_step_and_a_layer_checkbox_hides_it(browser, app_url):
    page = open_page(browser, app_url)
    page.click("#step-button")
    wait_until(page, f"() => ({TRACE_JS})(['toy-plot', 'manifold']) !== null")
    before = trace(page, "manifold")
    assert sum(1 for x in before["x"] if x is not None and not math.isnan(x)) > 100
    opened(page, "step-options", "#step-which")
    page.click("#step-which label:has-text('G only')")
    page.click("#step-button")
    wait_until(page, f"(xs) => {{ const t = ({TRACE_JS})(['toy-plot', 'manifold']);"
                     " return t && JSON.stringify(t.x) !== JSON.stringify(xs); }", arg=before["x"])

    page.click("#layers label:has-text('manifold')")              # untick: hidden at once, in the browser
    wait_until(page, f"() => ({TRACE_JS})(['toy-plot', 'manifold']).visible === false")
    assert trace(page, "real")["visible"] is True
    page.click("#step-button")                                       # a redraw keeps it hidden
    wait_until(page, "() => /step 3/.test(document.querySelector('#status').innerText)")
    page.wait_for_timeout(500)
    assert trace(page, "manifold")["visible"] is False
    page.screenshot(path=str(ARTIFACTS / "ganlab_layers.png"), full_page=True)

    still = settled_trace(page, "generated")
    page.click("#slow-step-button")                                  # D's update first: G's points stay put
    wait_until(page, f"() => ({TITLE_JS})().includes('1/2')")
    assert trace(page, "generated")["x"] == still["x"]
    wait_until(page, f"() => ({TITLE_JS})().includes('2/2')")
    assert trace(page, "generated")["x"] != still["x"]               # then G's: they move
    page.close()


def settled_trace(page, name):
    """The trace once two reads a second apart agree (a busy machine may still be drawing the last reply)."""
    previous = None
    for _ in range(30):
        current = trace(page, name)
        if current == previous:
            return current
        previous = current
        page.wait_for_timeout(1000)
    raise AssertionError(f"the {name!r} trace never settled")


def test_drawn_points_are_what_it_trains_on_and_two_runs_share_a_chart(browser, app_url):
    page = open_page(browser, app_url)
    page.click("#dataset input")
    page.click("li:has-text('my points (2D)')")
    page.wait_for_selector("#draw-pad canvas")
    page.click("#draw-pad .draw-clear")
    box = page.locator("#draw-pad canvas").bounding_box()
    centre_x, centre_y, radius = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / 4
    page.mouse.move(centre_x + radius, centre_y)
    page.mouse.down()
    for i in range(1, 31):                                           # one circle, a point every 12 degrees
        angle = 2 * math.pi * i / 30
        page.mouse.move(centre_x + radius * math.cos(angle), centre_y + radius * math.sin(angle))
    page.mouse.up()
    lines = [line for line in page.input_value("#points textarea").splitlines() if line.strip()]
    assert 25 <= len(lines) <= 31, lines
    drawn = [tuple(float(v) for v in line.split(",")) for line in lines]
    assert all(abs(math.hypot(x, y) - 1.5) < 0.1 for x, y in drawn), drawn   # the pad spans ±3: a quarter width is 1.5

    page.click("#train-button")
    wait_until(page, "() => /running · step [1-9]/.test(document.querySelector('#status').innerText)")
    wait_until(page, f"() => ({TRACE_JS})(['toy-plot', 'real']) !== null")
    real = trace(page, "real")
    assert all(min(math.hypot(x - dx, y - dy) for dx, dy in drawn) < 1e-3 for x, y in zip(real["x"], real["y"]))
    page.click("#stop-button")
    wait_until(page, "() => document.querySelector('#status').innerText.startsWith('stopped')")

    page.click("#reset-button")                                      # a second run, with another learning rate
    page.fill("#lr-g input", "0.0005")
    opened(page, "step-options", "#step-n input")
    page.fill("#steps input, #step-n input", "20")
    page.click("#step-which label:has-text('D and G')")
    page.click("#step-button")
    wait_until(page, "() => /step 20/.test(document.querySelector('#status').innerText)")
    page.click("#compare button, #compare .label-wrap")
    page.click("#compare-button")
    wait_until(page, f"() => ({TRACE_NAMES_JS})('compare-plot').length === 2")
    names = page.evaluate(TRACE_NAMES_JS, "compare-plot")
    assert names == ["run 1: lr_g=0.002", "run 2: lr_g=0.0005"], names
    page.screenshot(path=str(ARTIFACTS / "ganlab_compare.png"), full_page=True)
    page.close()
