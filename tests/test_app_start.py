"""`python app.py` as Spaces runs it: a subprocess on a free port (GRADIO_SERVER_PORT), no network; the page
must answer and the Explore tab must render the bundled checkpoints (checkpoints/digits, checkpoints/ring)."""
import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
START_TIMEOUT = 120      # generous: the test must not flake on a busy machine; the time is printed, not asserted


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_python(args, env=None, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_app_module_does_not_import_tensorflow():
    """The page is served before TensorFlow loads: importing app.py (which builds the demo) must not pull it in."""
    probe = run_python(["-c", "import sys, app; print('tensorflow' in sys.modules, 'keras' in sys.modules)"])
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split()[-2:] == ["False", "False"]


@contextlib.contextmanager
def served_app(log_path, **env_changes):
    """`python app.py` in a subprocess on a free 127.0.0.1 port, with `env_changes` (None removes a variable);
    yields its URL once the page answers, and ends the process after."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", **env_changes}
    env = {name: value for name, value in env.items() if value is not None}
    log = open(log_path, "w+")
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        elapsed = wait_for_page(url, process, started)
        print(f"\npython app.py served its page after {elapsed:.1f} s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.seek(0)
        print(log.read()[-3000:])
        log.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # GAN_CHECKPOINTS_DIR unset: the default, the repository's checkpoints/
    with served_app(tmp_path_factory.mktemp("log") / "app.log", GAN_CHECKPOINTS_DIR=None) as url:
        yield url


def wait_for_page(url, process, started) -> float:
    while time.monotonic() - started < START_TIMEOUT:
        assert process.poll() is None, f"app.py exited with code {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"app.py did not serve {url} within {START_TIMEOUT} s")


def test_page_answers_on_the_configured_port(app):
    with urllib.request.urlopen(app, timeout=10) as response:
        assert response.status == 200
        assert "GAN Playground" in response.read().decode("utf-8", "replace")


def test_explore_renders_the_bundled_checkpoints(app):
    from gradio_client import Client

    client = Client(app, verbose=False)
    try:
        digits = str(REPO / "checkpoints" / "digits")
        *sliders, classes, image, plot, info, _ = client.predict(digits, "raw", 0, 1.0, None, *[0.0] * 6,
                                                                 api_name="/explore_refresh")
        assert "image generator" in info and image["visible"] and 'src="data:image/png;base64,' in image["value"]
        assert classes["visible"] and len(classes["choices"]) == 10, "the digits demo is conditional"
        assert sum(s["visible"] for s in sliders) == 6
        ring = str(REPO / "checkpoints" / "ring")
        *_, image, plot, info, _ = client.predict(ring, "raw", 0, 1.0, None, *[0.0] * 6,
                                                  api_name="/explore_refresh")
        assert "2D generator" in info and plot["visible"] and not image["visible"]
    finally:
        client.close()
