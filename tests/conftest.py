import os
import time

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def wait_for(predicate, timeout=60.0):
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def e2e_app_url(tmp_path_factory):
    """`python app.py` serving a temp copy of the bundled checkpoints, started (and warmed up) once for all the
    browser tests on it (test_ui_e2e, test_ui_ganlab_e2e, test_ui_newcomer_e2e); each page is its own session."""
    from test_app_start import served_app
    from test_ui import prepared_checkpoints
    from test_ui_e2e import require_chromium

    require_chromium()
    root = prepared_checkpoints(tmp_path_factory)      # runs the tests save land in a temp copy, not checkpoints/
    with served_app(tmp_path_factory.mktemp("log") / "app.log", GAN_CHECKPOINTS_DIR=str(root)) as url:
        yield url
