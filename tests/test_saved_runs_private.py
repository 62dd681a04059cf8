"""Saved runs belong to the browser that saved it (issue 19, items 2 and 3): through the API, in a real browser
(the secret kept with gr.BrowserState), and two sessions racing for one name. Real server, tiny real runs."""
import json
import pathlib
import threading

import pytest
from gradio_client import Client

from playground.engine.checkpoints import CheckpointExistsError
from playground.engine.config import default_config
from playground.web.saved_runs import save_session_run
from playground.web.sessions import SessionRegistry
from playground.web.visitors import owner_of, valid_browser_secret
from test_public_safety import error_of, launched
from test_ui import TINY_RING, prepared_checkpoints, wait_for
from test_ui_e2e import CHROMIUM, CHROMIUM_ARGS, require_chromium

SLIDERS = [0.0] * 6


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from playground.web.app import build_demo

    root = prepared_checkpoints(tmp_path_factory)
    registry = SessionRegistry(max_trainings=2, max_train_seconds=None)
    demo = build_demo(registry=registry, checkpoints_dir=root)
    url = launched(demo)
    yield dict(url=url, registry=registry, root=root)
    registry.close_all()
    demo.close()


def saved_choices(checkpoint_list) -> dict:
    return {label: value for label, value in checkpoint_list["choices"] if label.startswith("saved: ")}


def test_other_visitors_neither_see_nor_load_a_saved_run(server):
    alice, bob = (Client(server["url"], verbose=False) for _ in range(2))
    try:
        alice.predict("both", 2, *TINY_RING, api_name="/step")
        _, alices_list, *_ = alice.predict("private-run", api_name="/save")
        alices = saved_choices(alices_list)["saved: private-run"]

        bob.predict("both", 1, *TINY_RING, api_name="/step")
        _, bobs_list, *_ = bob.predict("digits", api_name="/save")      # a bundled name: saved as bob's own
        assert list(saved_choices(bobs_list)) == ["saved: digits"], "bob sees only his own saved runs"
        assert "bundled: digits" in dict(bobs_list["choices"]), "and the bundled ones"
        for call in (lambda: bob.predict(alices, api_name="/load"),
                     lambda: bob.predict(alices, "raw", 0, 1.0, None, *SLIDERS, api_name="/explore_render"),
                     lambda: bob.predict(alices, 0, 1, "linear", 4, 1.0, None, api_name="/interpolate")):
            assert "not one of the listed checkpoints" in error_of(call)
        _, bobs_list, *_ = bob.predict("private-run", api_name="/save")  # the same name, his own folder
        bobs = saved_choices(bobs_list)["saved: private-run"]
        assert bobs != alices
        assert json.loads((pathlib.Path(alices) / "meta.json").read_text())["step"] == 2, "alice's run is intact"
        bundled = json.loads((server["root"] / "digits" / "meta.json").read_text())["step"]
        assert bundled > 1000, "the bundled digits run is never written"
    finally:
        alice.close()
        bob.close()


def test_a_secret_that_is_missing_or_made_up_is_replaced_by_a_new_one(server):
    registry = server["registry"]
    fresh = registry.claim_browser("visitor-1", None)
    assert valid_browser_secret(fresh) and registry.session("visitor-1").owner == owner_of(fresh)
    for made_up in ("", "a", "../../etc", "x" * 43 + "/", ["list"], 12):
        replaced = registry.claim_browser("visitor-2", made_up)
        assert replaced != made_up and valid_browser_secret(replaced)
    assert registry.claim_browser("visitor-3", fresh) == fresh       # a browser that comes back keeps its runs
    assert registry.session("visitor-3").owner == registry.session("visitor-1").owner


def test_the_browser_keeps_its_secret_across_tabs_and_reloads_and_another_browser_does_not_share_it(server):
    from playwright.sync_api import sync_playwright

    require_chromium()

    registry = server["registry"]

    def owners():
        with registry._lock:
            return {key: s.owner for key, s in registry._sessions.items() if s.owner}

    def open_tab(context):
        before = set(owners())
        page = context.new_page()
        page.goto(server["url"])
        page.wait_for_selector("#train-button")
        assert wait_for(lambda: set(owners()) - before, timeout=60), "the page load sends the browser's secret"
        page.wait_for_function("() => localStorage.getItem('gan-playground-owner')", timeout=30_000)
        return owners()[(set(owners()) - before).pop()]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            first = browser.new_context()
            owner = open_tab(first)
            assert open_tab(first) == owner, "a second tab of the same browser is the same owner"
            other = browser.new_context()                     # another browser profile: its own storage
            assert open_tab(other) != owner
        finally:
            browser.close()


# -- 3. the save race --------------------------------------------------------------------------------------
def test_two_sessions_saving_one_new_name_at_once_one_wins(tmp_path):
    registry = SessionRegistry(max_trainings=2, max_train_seconds=None)
    try:
        tiny = default_config("ring", width=16, batch_size=32, latent_dim=4, seed=3)
        for name, steps in (("alice", 2), ("bob", 3)):
            registry.step(name, tiny, None, steps, "both")
        registry.session("bob").owner = registry.session("alice").owner_key()    # two tabs of one browser
        start, results = threading.Barrier(2), {}

        def save(name):
            start.wait()
            try:
                results[name] = save_session_run(registry.session(name), "same-name", tmp_path).name
            except CheckpointExistsError as exc:
                results[name] = str(exc)

        threads = [threading.Thread(target=save, args=(name,)) for name in ("alice", "bob")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        winners = [name for name, result in results.items() if result == "same-name"]
        assert len(winners) == 1, results
        loser = ({"alice", "bob"} - set(winners)).pop()
        assert "already exists" in results[loser]
        saved = next((tmp_path / "user").glob("*/same-name"))
        assert json.loads((saved / "meta.json").read_text())["step"] == {"alice": 2, "bob": 3}[winners[0]]
        assert registry.session(loser).unsaved_steps() > 0, "the loser is not told its run is saved"
    finally:
        registry.close_all()
