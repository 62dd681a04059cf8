import numpy as np
import pytest

from playground.training.history import History


def test_history_keeps_every_step_until_full():
    history = History(keys=("a",), max_points=10)
    for step in range(1, 8):
        history.add(step, {"a": float(step)})
    steps, values = history.export()
    assert list(steps) == list(range(1, 8))
    assert list(values["a"]) == [float(s) for s in range(1, 8)]


def test_history_memory_is_bounded_and_means_are_preserved():
    history = History(keys=("a",), max_points=10)
    for step in range(1, 1001):
        history.add(step, {"a": float(step)})
    steps, values = history.export()
    assert 5 <= len(steps) <= 11
    assert steps[-1] == 1000
    # Buckets average their steps, so the overall mean is kept (each bucket has equal weight here).
    closed = values["a"][: len(values["a"])]
    assert np.all(np.diff(steps) > 0)
    assert closed.mean() == pytest.approx(500.5, rel=0.05)


def test_missing_keys_become_nan_and_arrays_are_read_only():
    history = History(keys=("a", "b"), max_points=4)
    history.add(1, {"a": 1.0})
    _, values = history.export()
    assert np.isnan(values["b"][0])
    with pytest.raises(ValueError):
        values["a"][0] = 3.0
