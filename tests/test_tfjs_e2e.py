"""The Explore tab's in-page generator in a real browser (Debian's chromium via Playwright) against a real server.

Same pictures: the page (TensorFlow.js) and the Python generator render the same latent inputs (seed, slider
values, truncation, class, interpolation frame) for the bundled digits and ring, and for a live run after a weight
refresh, to within 2/255 per pixel (points: 1e-3 of the data's range). No server work per drag: 50 slider moves
send no request at all.
"""
import pathlib

import numpy as np
import pytest

from playground.engine.checkpoints import load_sampler
from playground.sampling import export, latent
from playground.web import plots
from playground.web.layout import PAGE_DIRECTIONS
from playground.web.sessions import SessionRegistry
from test_ui import free_port, prepared_checkpoints   # tests/ is on sys.path (pytest's default import mode)
from test_ui_e2e import CHROMIUM, require_chromium


# Sets one of the page's controls the way a user does: a new value, then an `input` event.
SET_JS = """([selector, value]) => {
  const control = document.querySelector(`#explore-page ${selector}`);
  control.value = value;
  control.dispatchEvent(new Event('input', {bubbles: true}));
}"""
PIXELS_JS = """() => {
  const canvas = document.querySelector('#explore-page .gp-image');
  return Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data);
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from playground.web.app import build_demo

    root = prepared_checkpoints(tmp_path_factory)
    registry = SessionRegistry(max_trainings=1, max_train_seconds=None)
    demo = build_demo(registry=registry, checkpoints_dir=root)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    yield dict(url=url, root=pathlib.Path(root), registry=registry)
    registry.close_all()
    demo.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(server["url"])
        page.click("#explore-tab-button")
        wait_for_model(page, "digits")
        yield page
        browser.close()


def wait_for_model(page, name):
    page.wait_for_function("(name) => window.ganPage && window.ganPage.key && window.ganPage.key.includes(name)"
                           " && window.ganPage.renders > 0", arg=name, polling=200)


def choose_source(page, label, name):
    page.click("#explore-source input")
    page.get_by_role("option", name=label).click()
    wait_for_model(page, name)


def set_controls(page, **values):
    for selector, value in values.items():
        page.evaluate(SET_JS, [selector, str(value)])


def pixels(images) -> np.ndarray:
    """Python's grey levels for (N, H, W, 1) images, the way the server draws them."""
    return np.asarray(plots.image_grid(images, ncols=1, upscale=1, border=0), np.int32)


def test_digits_same_pictures_in_the_page_and_in_python(page, server):
    sampler = load_sampler(server["root"] / "digits")
    directions = export.page_directions(sampler, PAGE_DIRECTIONS)
    checks = [("raw", 7, 3, 0.7, [1.5, -2.0, 0.25]), ("pca", 123, 8, 1.0, [2.5, -1.0, 0.0, 3.0])]
    for mode, seed, label, psi, values in checks:
        set_controls(page, **{".gp-mode": mode, ".gp-class": label, ".gp-seed": seed, ".gp-psi": psi})
        for i, value in enumerate(values):
            set_controls(page, **{f".gp-slider[data-i='{i}']": value})
        h, w, _ = sampler.output_shape
        shown = np.asarray(page.evaluate(PIXELS_JS), np.int32).reshape(h, w, 4)
        base = latent.z_from_seed(seed, sampler.latent_dim)
        if mode == "pca":
            vectors = directions[label][0]
            z = latent.z_from_sliders(base, values + [0.0] * (len(vectors) - len(values)), vectors)
        else:
            start = [round(float(np.clip(v, -4, 4)), 2) for v in base[0, :10]]
            z = latent.z_from_sliders(base, values + start[len(values):])
        expected = pixels(sampler.generate(latent.truncate(z, psi), [label]))
        assert np.abs(shown[..., 0] - expected).max() <= 2, (mode, seed, label)
        assert np.ptp(expected) > 100, "a real digit, not a blank picture"

    set_controls(page, **{".gp-from": 5, ".gp-to": 9, ".gp-how": "linear", ".gp-frames": 8, ".gp-frame": 3})
    path = latent.truncate(latent.interpolation_path(latent.z_from_seed(5, 64), latent.z_from_seed(9, 64), 8,
                                                     "linear"), 1.0)
    expected = pixels(sampler.generate(path[3:4], [8]))
    shown = np.asarray(page.evaluate(PIXELS_JS), np.int32).reshape(28, 28, 4)
    assert np.abs(shown[..., 0] - expected).max() <= 2


def test_fifty_slider_moves_send_no_request(page):
    set_controls(page, **{".gp-mode": "raw"})
    requests = []
    record = lambda request: requests.append(request.url)   # noqa: E731
    page.on("request", record)
    before = page.evaluate("() => window.ganPage.renders")
    for i in range(50):
        set_controls(page, **{f".gp-slider[data-i='{i % 4}']": round(-3 + 0.12 * i, 2)})
    for _ in range(3):
        page.click("#explore-page .gp-random")         # a click inside the page's panel is no request either
    page.wait_for_timeout(500)
    page.remove_listener("request", record)
    assert page.evaluate("() => window.ganPage.renders") - before == 53
    assert requests == [], f"slider moves sent {len(requests)} requests: {requests[:3]}"


def test_ring_same_points_and_a_clamped_seed_is_noted(page, server):
    choose_source(page, "bundled: ring", "ring")
    sampler = load_sampler(server["root"] / "ring")
    set_controls(page, **{".gp-mode": "raw", ".gp-seed": 4321})
    assert "seed 4321 is outside 0..999" in page.inner_text("#explore-page .gp-note")
    set_controls(page, **{".gp-seed": 42, ".gp-psi": 0.5, ".gp-slider[data-i='1']": -1.25})
    z = latent.z_from_sliders(latent.z_from_seed(42, 2), [float(page.evaluate(
        "() => window.ganPage.state.values[0]")), -1.25])
    expected = sampler.generate(latent.truncate(z, 0.5))[0]
    cloud = sampler.generate(latent.z_from_seed(export.ANCHOR_SEED, 2, 1000))
    data_range = float(np.ptp(cloud, axis=0).max())
    shown = np.asarray(page.evaluate("() => window.ganPage.output"))
    assert np.abs(shown - expected).max() <= 1e-3 * data_range


def test_a_live_run_refreshes_in_the_page_and_matches_python(page, server):
    page.click("#train-tab-button")
    page.click("#train-button")                      # the default recipe: the ring
    page.wait_for_function("() => /step [1-9]/.test(document.querySelector('#status').innerText)", polling=200)
    page.click("#explore-tab-button")
    choose_source(page, "this session's run", "live")
    first = page.evaluate("() => window.ganPage.key")
    page.wait_for_function("(first) => window.ganPage.key !== first", arg=first, polling=200)   # a refresh came
    # The browser's session is the only one training (the registry's map is private; a test may look).
    trainer = next(s.trainer for s in server["registry"]._sessions.values() if s.trainer is not None)
    trainer.pause()
    sampler = trainer.sampler()
    page.wait_for_function("(key) => window.ganPage.key === key", arg=f"live@{sampler.version}", polling=200)
    label = [3] if sampler.num_classes else None       # the ring's default recipe is self-conditioned
    if label:
        set_controls(page, **{".gp-class": 3})
    set_controls(page, **{".gp-mode": "raw", ".gp-seed": 11, ".gp-psi": 1.0, ".gp-slider[data-i='0']": 0.75})
    z = latent.z_from_sliders(latent.z_from_seed(11, 2), [0.75, float(page.evaluate(
        "() => window.ganPage.state.values[1]"))])
    expected = sampler.generate(z, label)[0]
    cloud = sampler.generate(latent.z_from_seed(export.ANCHOR_SEED, 2, 1000), label and label * 1000)
    shown = np.asarray(page.evaluate("() => window.ganPage.output"))
    assert np.abs(shown - expected).max() <= 1e-3 * float(np.ptp(cloud, axis=0).max())

    page.click("#explore-page .gp-recompute")         # the live run's directions, computed afresh on the server
    page.wait_for_function("() => !document.querySelector('#explore-page .gp-note').textContent", polling=200)
    assert page.evaluate("() => window.ganPage.error") is None


def test_the_server_path_remains_when_the_page_does_not_render(page, server):
    fallback = page.context.browser.new_page()
    fetched = []
    fallback.on("request", lambda request: fetched.append(request.url))
    fallback.goto(server["url"] + "?render=server")
    fallback.click("#explore-tab-button")
    fallback.wait_for_selector("#explore-image img")               # the server-rendered picture
    assert fallback.is_visible("#z-slider-0") and not fallback.is_visible("#explore-page .gp-controls")
    assert "render=server" in fallback.evaluate("() => window.ganPage.error")
    assert not [url for url in fetched if "tf.min.js" in url], "the page fetches TensorFlow.js only to use it"
    fallback.close()
