"""A newcomer's path through the Train tab in a real browser (Debian's chromium) against `python app.py`: the data
preview, an experiment, Train, Stop, Train again (a new run, the old one kept), the timeline scrubber and its GIF;
a bad run zip gives one message and no "Error" overlays; at phone width Train shows without scrolling.
Screenshots go to tests/artifacts/ (newcomer_*.png)."""
import re

import pytest

from test_ui_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, error_overlays, status_step, wait_until

STATUS_IS = "(word) => document.querySelector('#status').innerText.startsWith(word)"


@pytest.fixture(scope="module")
def browser(e2e_app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser.url = e2e_app_url
        ARTIFACTS.mkdir(exist_ok=True)
        yield browser
        browser.close()


def open_page(browser, width=1280, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(60_000)
    page.goto(browser.url)
    page.wait_for_selector("#data-preview img")            # the real data shows before any training
    return page


def test_a_newcomers_path_preview_experiment_train_stop_train_timeline_gif(browser):
    page = open_page(browser)
    assert "ring" in page.inner_text("#data-preview")
    assert page.is_disabled("#pause-button") and page.is_disabled("#stop-button") and page.is_disabled("#reset-button")
    assert "nothing is running" in page.inner_text("#controls-hint")

    page.click("#experiment-collapse")
    wait_until(page, "() => /Mode collapse/.test(document.querySelector('#message').innerText)")
    wait_until(page, "() => /'grid'/.test(document.querySelector('#data-preview').innerText)")
    assert page.input_value("#loss input") == "standard"
    page.screenshot(path=str(ARTIFACTS / "newcomer_experiment.png"), full_page=True)

    page.click("#timeline-gif-button")                    # nothing trained yet: the timeline's area says so
    wait_until(page, "() => /timeline is empty/.test(document.querySelector('#timeline-message').innerText)")
    page.click("#train-button")
    wait_until(page, "() => /running · step [1-9]/.test(document.querySelector('#status').innerText)")
    assert page.inner_text("#message").strip() == "", "the next action clears the old message"
    assert page.inner_text("#timeline-message").strip() == "", "a new run makes the timeline's old note stale"
    assert page.is_enabled("#pause-button") and page.is_disabled("#resume-button")
    assert "Step: pause first" in page.inner_text("#controls-hint")
    page.wait_for_timeout(2000)
    page.click("#stop-button")
    wait_until(page, STATUS_IS, "stopped")
    first_run_steps = status_step(page)
    assert page.is_disabled("#resume-button") and "Train starts a new one" in page.inner_text("#controls-hint")

    page.click("#train-button")                           # after Stop: a new run, the stopped one kept
    wait_until(page, "() => /kept under 'Earlier runs'/.test(document.querySelector('#message').innerText)")
    wait_until(page, STATUS_IS, "running")
    page.wait_for_timeout(3000)
    page.screenshot(path=str(ARTIFACTS / "newcomer_training.png"), full_page=True)
    page.click("#pause-button")
    wait_until(page, STATUS_IS, "paused")
    assert first_run_steps > 0

    slider = page.locator("#timeline-position input[type=range]")
    slider.fill("0")                                       # scrub to the start of the run
    wait_until(page, "() => /step [\\d,]+ \\(snapshot 1 of \\d+\\)/.test("
                     "document.querySelector('#timeline-frame').innerText)")
    early = page.inner_text("#timeline-frame")
    slider.fill("100")
    wait_until(page, "(early) => document.querySelector('#timeline-frame').innerText !== early", arg=early)
    page.click("#timeline-gif-button")
    page.wait_for_selector("#timeline-gif a")
    assert re.search(r"A GIF of \d+ snapshots", page.inner_text("#timeline-message"))
    assert error_overlays(page) == 0
    page.screenshot(path=str(ARTIFACTS / "newcomer_timeline.png"), full_page=True)
    page.click("#stop-button")
    page.close()


def test_a_bad_run_zip_shows_one_message_and_no_overlays(browser, tmp_path):
    bad = tmp_path / "not-a-run.zip"
    bad.write_bytes(b"this is not a zip file")
    page = open_page(browser)
    page.click("#save-load button.label-wrap") if page.locator("#save-load button.label-wrap").count() else \
        page.click("#save-load")
    page.set_input_files("#run-zip input[type=file]", str(bad))
    page.click("#load-zip-button")
    page.wait_for_selector("#message .gan-error")
    assert "not a valid zip" in page.inner_text("#message")
    page.wait_for_timeout(500)
    assert page.locator(".gan-error").count() == 1 and error_overlays(page) == 0
    page.screenshot(path=str(ARTIFACTS / "newcomer_bad_zip.png"), full_page=True)
    page.close()


def test_at_phone_width_train_shows_without_scrolling_past_the_settings(browser):
    page = open_page(browser, width=390, height=844)
    train = page.locator("#train-button").bounding_box()
    dataset = page.locator("#dataset").bounding_box()
    assert train["y"] + train["height"] <= 844, "Train must be on the first screen"
    assert train["y"] < dataset["y"], "Train comes before the settings"
    page.screenshot(path=str(ARTIFACTS / "newcomer_phone.png"))
    page.close()
