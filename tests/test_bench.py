"""playground.bench's parts for real, on tiny budgets (the full bench is minutes long; its numbers go in notes)."""
from playground import bench
from playground.engine.config import default_config


def test_train_timed_reports_each_checkpoint_on_the_training_clock():
    _, records = bench.train_timed(default_config("ring", width=16, batch_size=64, seed=1), 1.0, checkpoints=[0.5],
                                   n_eval=400)
    assert [r["seconds"] >= t for r, t in zip(records, (0.5, 1.0))] == [True, True]
    assert 0 < records[0]["steps"] < records[1]["steps"]
    assert records[1]["images"] == records[1]["steps"] * 64
    assert records[1]["num_modes"] == 8 and 0 <= records[1]["high_quality_share"] <= 1


def test_a_target_recipe_runs_in_its_own_process_and_reads_back():
    row = bench.recipe_row("ring", 1.0, [0.5])
    assert row["recipe"] == "ring" and row["images_per_sec"] > 0 and row["steps_per_sec"] > 0
    assert [r["seconds"] >= t for r, t in zip(row["at"], (0.5, 1.0))] == [True, True]
    line = bench._quality(row["at"][-1])
    assert "/8 modes" in line and "high quality" in line


def test_publisher_overhead_compares_alternating_windows_of_one_run():
    out = bench.publisher_overhead(default_config("ring", width=16, batch_size=64, seed=1), 1.2, rounds=2)
    assert out["rounds"] == 2
    assert out["steps_per_sec_bare"] > 0 and out["steps_per_sec_with_publisher"] > 0
    share = 1 - out["steps_per_sec_with_publisher"] / out["steps_per_sec_bare"]
    assert abs(out["publisher_cost_share"] - share) < 1e-9
