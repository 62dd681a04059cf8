import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def wait_for(predicate, timeout=60.0):
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
