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


def test_a_full_buffer_merges_neighbouring_buckets_into_their_means():
    history = History(keys=("a",), max_points=4)
    exported = []
    for step in range(1, 10):
        history.add(step, {"a": float(step)})
        steps, values = history.export()
        exported.append((list(steps), list(values["a"])))
    # Worked by hand: steps 1-4 fill the buffer; step 5 merges (1,2) and (3,4); from then on buckets hold 2 steps,
    # so at step 9 the second merge joins the 1-step bucket 5 with the 2-step bucket 6-7: their mean is 6, not 5.75.
    assert exported[3] == ([1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0])
    assert exported[4] == ([2, 4, 5], [1.5, 3.5, 5.0])
    assert exported[5] == ([2, 4, 5, 6], [1.5, 3.5, 5.0, 6.0])        # 6 is the open bucket, half full
    assert exported[6] == ([2, 4, 5, 7], [1.5, 3.5, 5.0, 6.5])
    assert exported[8] == ([4, 7, 9], [2.5, 6.0, 8.5])
    assert history.bucket_size == 4


def test_memory_is_bounded_and_every_point_is_the_exact_mean_of_its_steps():
    history = History(keys=("a", "b"), max_points=10)
    for step in range(1, 1001):
        history.add(step, {"a": float(step), "b": float(step) ** 2})
    steps, values = history.export()
    assert 5 <= len(steps) <= 11 and steps[-1] == 1000 and np.all(np.diff(steps) > 0)
    # Point i stands for the steps after point i-1 up to its own: its value is their mean, exactly for the linear
    # key (halves of whole numbers are exact in float32), within float32 rounding for the squares.
    first = np.concatenate([[1], steps[:-1] + 1])
    np.testing.assert_array_equal(values["a"], (first + steps) / 2)
    squares = [np.mean(np.arange(lo, hi + 1, dtype=np.float64) ** 2) for lo, hi in zip(first, steps)]
    np.testing.assert_allclose(values["b"], squares, rtol=1e-6)
    assert (steps - first + 1).max() <= history.bucket_size


def test_missing_keys_become_nan_and_arrays_are_read_only():
    history = History(keys=("a", "b"), max_points=4)
    history.add(1, {"a": 1.0})
    _, values = history.export()
    assert np.isnan(values["b"][0])
    with pytest.raises(ValueError):
        values["a"][0] = 3.0
