"""`python -m playground bench`: the default recipe vs the TF DCGAN tutorial recipe on the same data and the same
wall-clock budget, plus the latencies the UI depends on. Timings live here, never in tests.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

import numpy as np

from playground.metrics import evaluate
from playground.engine.config import TUTORIAL_RECIPE, default_config


def train_timed(config, seconds: float, checkpoints=(), n_eval: int = 1000, run=None):
    """Train for `seconds` of wall-clock (evaluation pauses the clock); returns the run and one record per
    checkpoint time: {"seconds", "steps", "images", ...metrics}."""
    from playground.engine.run import Run

    run = run or Run.build(config)
    run.train_chunk(1)                           # the first call traces the graph: not part of the budget
    records, trained, steps = [], 0.0, 0
    for target in sorted(set([*checkpoints, seconds])):
        done, elapsed = train_bare(run, target - trained)
        steps, trained = steps + done, trained + elapsed
        run.refresh_sampler()
        values, _ = evaluate.quality(run.sampler, run.dataset, n_eval)
        records.append({"seconds": round(trained, 2), "steps": steps,
                        "images": steps * run.config.batch_size, **values})
    return run, records


def train_bare(run, seconds: float) -> tuple[int, float]:
    """Step `run` in this thread for about `seconds` (Run.train_for, as the app and the CLI do), nothing else;
    returns (steps, seconds taken)."""
    progress = run.train_for(seconds=seconds)
    return progress.steps, progress.seconds


# name -> (dataset, overrides of that dataset's defaults)
RECIPES = {"default": ("digits", {}), "tf-dcgan-tutorial": ("digits", TUTORIAL_RECIPE),
           "unconditional": ("digits", {"conditional": False}), "ring": ("ring", {}), "grid": ("grid", {})}
# The targets beyond the side-by-side: name -> (training seconds, metric checkpoints)
TARGET_RUNS = {"unconditional": (60.0, ()), "ring": (10.0, (5.0,)), "grid": (60.0, (30.0,))}
# Each recipe runs in its own process with its own thread setting: ours use one TF thread (our default); the
# tutorial gets TensorFlow's stock setting (one thread per core), which is what its own code would run with.
RECIPE_THREADS = {"tf-dcgan-tutorial": str(os.cpu_count() or 2)}


def recipe_row(name, seconds, checkpoints=()):
    """Run one recipe in a child process (`python -m playground.bench --recipe NAME`) and return its row."""
    env = dict(os.environ)
    if name in RECIPE_THREADS:
        env["TF_NUM_INTRAOP_THREADS"] = env["TF_NUM_INTEROP_THREADS"] = RECIPE_THREADS[name]
    command = [sys.executable, "-m", "playground.bench", "--recipe", name, "--seconds", str(seconds),
               "--checkpoints", ",".join(str(c) for c in checkpoints)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench recipe {name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _recipe_main(name, seconds, checkpoints):
    dataset, overrides = RECIPES[name]
    _, records = train_timed(default_config(dataset, **overrides), seconds, checkpoints)
    final = records[-1]
    print(json.dumps({"recipe": name, "images_per_sec": final["images"] / final["seconds"],
                      "steps_per_sec": final["steps"] / final["seconds"], "at": records}))


def latency(fn, repeats=50):
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95))}


def ui_latencies(run):
    from playground.web import plots

    sampler = run.sampler
    z1 = np.random.default_rng(0).standard_normal((1, sampler.latent_dim)).astype(np.float32)
    z64 = np.random.default_rng(1).standard_normal((64, sampler.latent_dim)).astype(np.float32)
    one, many = (np.array([3]), np.arange(64) % sampler.num_classes) if sampler.num_classes else (None, None)
    return {"slider_render": latency(lambda: plots.image_grid(sampler.generate(z1, one))),
            "grid_64": latency(lambda: plots.image_grid(sampler.generate(z64, many)), repeats=20)}


def publisher_overhead(config, seconds, rounds: int = 3):
    """Steps/s of the background trainer as the UI runs it (a snapshot every 0.5 s, live metrics beside it) vs bare
    steps of the same run, in alternating windows of seconds / (2 * rounds) each: one bare run then one trainer
    run differed by up to ±5% from this machine's drift alone, as much as the cost being measured."""
    from playground.training.trainer import Trainer

    trainer = Trainer(config)
    trainer.start()
    while trainer.snapshot().step < 2 and trainer.status == "running":   # past graph tracing
        time.sleep(0.05)
    window, bare, published = seconds / (2 * rounds), [0, 0.0], [0, 0.0]
    for _ in range(rounds):
        trainer.pause()                          # finishes its step and any evaluation in flight
        with trainer.lock:
            steps, took = train_bare(trainer.run, window)
        bare = [bare[0] + steps, bare[1] + took]
        trainer.resume()
        # Real time between two publishes, not the trainer's own training clock: that leaves out publishing.
        first, started = _next_publish(trainer)
        time.sleep(window)
        last, ended = _next_publish(trainer)
        published = [published[0] + last - first, published[1] + ended - started]
    trainer.stop()
    with_publisher, without = published[0] / published[1], bare[0] / bare[1]
    return {"steps_per_sec_bare": without, "steps_per_sec_with_publisher": with_publisher,
            "publisher_cost_share": 1.0 - with_publisher / without, "rounds": rounds}


def _next_publish(trainer):
    """(step, time) of the trainer's next snapshot, seen within ~5 ms."""
    step = trainer.snapshot().step
    while trainer.snapshot().step == step and trainer.status == "running":
        time.sleep(0.005)
    return trainer.snapshot().step, time.perf_counter()


def first_step_times() -> dict:
    """Click on Train → the first trained step drawn, per dataset, in a real browser (bench_page); {} without one."""
    import os

    from playground import bench_page

    return bench_page.page_first_step_times() if os.path.exists(bench_page.CHROMIUM) else {}


def run_bench(seconds: float = 60.0, as_json: bool = False, targets: bool = True) -> int:
    from playground.engine.run import Run

    checkpoints = [t for t in (15.0, 30.0) if t < seconds]
    ours = recipe_row("default", seconds, checkpoints)
    tutorial = recipe_row("tf-dcgan-tutorial", seconds, checkpoints)
    # The other targets, each on its own budget (capped by --seconds, for a quick look).
    others = {name: recipe_row(name, min(budget, seconds), [c for c in marks if c < min(budget, seconds)])
              for name, (budget, marks) in TARGET_RUNS.items()} if targets else {}
    ui_run = Run.build(default_config("digits"))
    with contextlib.redirect_stdout(sys.stderr):      # the served page's log lines must not break --json's output
        result = _page_and_ui(ours, tutorial, others, ui_run, seconds)
    print(json.dumps(result, indent=2) if as_json else render_table(result))
    return 0


def _page_and_ui(ours, tutorial, others, ui_run, seconds) -> dict:
    return {
        "seconds": seconds, "default": ours, "tutorial": tutorial,
        "images_per_sec_ratio": ours["images_per_sec"] / tutorial["images_per_sec"],
        "steps_per_sec_ratio": ours["steps_per_sec"] / tutorial["steps_per_sec"],
        "fcd_ratio_tutorial_over_default": tutorial["at"][-1]["fcd"] / ours["at"][-1]["fcd"],
        "ui": ui_latencies(ui_run),
        "publisher": publisher_overhead(default_config("digits"), min(seconds, 60.0)),
        "targets": others,
        "page": page_latencies(),
        "first_step": first_step_times(),
    }


def page_latencies() -> dict:
    """The Explore tab's in-page generator timed in headless Chromium (bench_page.py); it needs the dev tools."""
    try:
        from playground import bench_page
        return bench_page.page_slider_latencies()
    except ImportError as exc:
        return {"not_measured": f"install requirements-dev.txt and Debian's chromium to time the page ({exc})"}


def render_table(result) -> str:
    lines = [f"{'recipe':<20}{'images/s':>10}{'steps/s':>9}  FCD / confident / classes at " +
             ", ".join(f"{r['seconds']:.0f}s" for r in result["default"]["at"])]
    for key in ("default", "tutorial"):
        row = result[key]
        cells = "  ".join(f"{r['fcd']:.2f}/{r['confident_share']:.0%}/{r['classes_covered']}" for r in row["at"])
        lines.append(f"{row['recipe']:<20}{row['images_per_sec']:>10.0f}{row['steps_per_sec']:>9.1f}  {cells}")
    lines.append(f"images/s ratio {result['images_per_sec_ratio']:.1f}x; FCD ratio (tutorial/default) "
                 f"{result['fcd_ratio_tutorial_over_default']:.1f}x")
    ui = result["ui"]
    lines.append(f"slider render {ui['slider_render']['median_ms']:.1f} ms median, "
                 f"{ui['slider_render']['p95_ms']:.1f} ms p95; 64-image grid {ui['grid_64']['median_ms']:.1f} ms")
    pub = result["publisher"]
    lines.append(f"trainer steps/s {pub['steps_per_sec_with_publisher']:.1f} with publisher vs "
                 f"{pub['steps_per_sec_bare']:.1f} bare ({pub['publisher_cost_share']:.1%} cost)")
    page = result.get("page", {})
    if "page_slider_digits_p95_ms" in page:
        lines.append(f"in-page slider (tfjs) digits {page['page_slider_digits_p50_ms']:.1f} / "
                     f"{page['page_slider_digits_p95_ms']:.1f} ms p50/p95, ring {page['page_slider_ring_p50_ms']:.1f}"
                     f" / {page['page_slider_ring_p95_ms']:.1f} ms")
    elif page:
        lines.append(f"in-page slider: {page.get('not_measured')}")
    if result.get("first_step"):
        lines.append("click on Train → first step drawn: " + ", ".join(
            f"{key.split('_')[3]} {ms:.0f} ms" for key, ms in result["first_step"].items()))
    for name, row in result["targets"].items():
        lines.append(f"{name:<20}" + "  ".join(f"{r['seconds']:.0f}s: {_quality(r)}" for r in row["at"]))
    return "\n".join(lines)


def _quality(record) -> str:
    if "fcd" in record:
        return f"FCD {record['fcd']:.2f} / {record['confident_share']:.0%} confident / {record['classes_covered']} classes"
    return (f"{record['modes_covered']}/{record['num_modes']} modes, "
            f"{record['high_quality_share']:.1%} high quality")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one bench recipe in its own process (used by run_bench)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--checkpoints", default="")
    args = parser.parse_args()
    _recipe_main(args.recipe, args.seconds, [float(c) for c in args.checkpoints.split(",") if c])


# -- devices: images/s on 1 vs N devices (docs/bigger-runs.md) -------------------------------------------------
# name -> (dataset, overrides): 28x28 grey digits and 64x64 colour shapes, both at the default global batch (64).
DEVICE_RECIPES = {"digits 28x28": ("digits", {}), "shapes 64x64": ("shapes", {"image_size": 64})}
# A child process per device count (devices are chosen once per process): argv devices, recipe name, seconds.
_DEVICES_CHILD = ("import sys; from playground.engine import devices; devices.use(sys.argv[1]); "
                  "from playground.bench import _devices_child; _devices_child(sys.argv[2], float(sys.argv[3]))")


def devices_figure(counts=(1, 2), seconds: float = 20.0) -> dict:
    """Images/s of each DEVICE_RECIPES entry on each device count, trained bare after tracing. Without a GPU the
    devices are logical CPU devices: the same cores, so this shows what the all-reduce costs, not a speed-up."""
    rows = {}
    for name in DEVICE_RECIPES:
        rows[name] = {}
        for count in counts:
            done = subprocess.run([sys.executable, "-c", _DEVICES_CHILD, str(count), name, str(seconds)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"devices bench {name} on {count} failed:\n{done.stderr[-2000:]}")
            rows[name][count] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def _devices_child(name: str, seconds: float):
    from playground.engine.run import Run

    dataset, overrides = DEVICE_RECIPES[name]
    run = Run.build(default_config(dataset, **overrides))
    run.train_chunk(2)                           # tracing is not part of the figure
    steps, took = train_bare(run, seconds)
    print(json.dumps({"devices": run.placement.describe(), "images_per_sec": steps * run.config.batch_size / took,
                      "steps_per_sec": steps / took}))


def render_devices(rows) -> str:
    lines = []
    for name, by_count in rows.items():
        cells = "  ".join(f"{count} device(s): {row['images_per_sec']:.0f} images/s" for count, row in by_count.items())
        lines.append(f"{name:<16}{cells}   (last: {list(by_count.values())[-1]['devices']})")
    return "\n".join(lines)
