"""playground.bench's parts for real, on tiny budgets (the full bench is minutes long; its numbers go in notes).
Each figure is checked against something bench did not compute itself: the run's own step counter, the recipe's
batch size, a hand-made result."""
from playground import bench
from playground.engine.config import default_config


def test_train_timed_reports_each_checkpoint_on_the_training_clock():
    run, records = bench.train_timed(default_config("ring", width=16, batch_size=64, seed=1), 1.0,
                                     checkpoints=[0.5], n_eval=400)
    assert [r["seconds"] >= t for r, t in zip(records, (0.5, 1.0))] == [True, True]
    assert 0 < records[0]["steps"] < records[1]["steps"]
    assert records[1]["steps"] == run.step - 1, "every step the run took but the untimed tracing one"
    assert records[1]["images"] == 64 * (run.step - 1)
    assert records[1]["num_modes"] == 8 and 0 <= records[1]["high_quality_share"] <= 1


def test_a_target_recipe_runs_in_its_own_process_and_reads_back():
    row = bench.recipe_row("ring", 1.0, [0.5])
    assert row["recipe"] == "ring" and row["steps_per_sec"] > 0
    assert row["images_per_sec"] / row["steps_per_sec"] == default_config("ring").batch_size == 256
    assert [r["seconds"] >= t for r, t in zip(row["at"], (0.5, 1.0))] == [True, True]
    line = bench._quality(row["at"][-1])
    assert "/8 modes" in line and "high quality" in line


def test_publisher_overhead_compares_alternating_windows_of_one_run():
    out = bench.publisher_overhead(default_config("ring", width=16, batch_size=64, seed=1), 1.2, rounds=2)
    assert out["rounds"] == 2
    assert out["steps_per_sec_bare"] > 0 and out["steps_per_sec_with_publisher"] > 0
    assert out["publisher_cost_share"] < 1, "the trainer trained while it published"


def test_the_table_reads_a_known_result():
    def row(recipe, images, steps, fcd, confident):
        return {"recipe": recipe, "images_per_sec": images, "steps_per_sec": steps,
                "at": [{"seconds": 60.0, "fcd": fcd, "confident_share": confident, "classes_covered": 10}]}

    result = {"default": row("default", 5000.0, 78.1, 3.2, 0.977), "tutorial": row("tf-dcgan-tutorial", 625.0, 2.4,
                                                                                   12.8, 0.5),
              "images_per_sec_ratio": 8.0, "fcd_ratio_tutorial_over_default": 4.0,
              "ui": {"slider_render": {"median_ms": 3.0, "p95_ms": 5.5}, "grid_64": {"median_ms": 20.0}},
              "publisher": {"steps_per_sec_with_publisher": 45.0, "steps_per_sec_bare": 50.0,
                            "publisher_cost_share": 0.1},
              "targets": {"ring": {"at": [{"seconds": 10.0, "modes_covered": 8, "num_modes": 8,
                                           "high_quality_share": 0.991}]}}}
    assert bench.render_table(result).splitlines() == [
        "recipe                images/s  steps/s  FCD / confident / classes at 60s",
        "default                   5000     78.1  3.20/98%/10",
        "tf-dcgan-tutorial          625      2.4  12.80/50%/10",
        "images/s ratio 8.0x; FCD ratio (tutorial/default) 4.0x",
        "slider render 3.0 ms median, 5.5 ms p95; 64-image grid 20.0 ms",
        "trainer steps/s 45.0 with publisher vs 50.0 bare (10.0% cost)",
        "ring                10s: 8/8 modes, 99.1% high quality",
    ]
