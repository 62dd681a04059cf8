"""python -m playground train | sample | eval | bench  (the contract is in README.md "Command line").

Arguments and settings are checked before TensorFlow is imported, so a typo answers at once.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

import numpy as np

from playground.engine.config import ConfigError, default_config
from playground.engine.device_count import DEVICES_ENV, parse_devices
from playground.engine.run_files import checked_run_folder


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description="GAN Playground from the shell.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a GAN and save a checkpoint directory")
    train.add_argument("--dataset", required=True, help="ring|grid|spiral|moons|digits|mnist|fashion or a path "
                       "to a .zip/.npz/folder of images")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="number of training steps")
    budget.add_argument("--seconds", type=float, help="wall-clock training budget (default 60)")
    train.add_argument("--out", required=True, help="checkpoint directory to write")
    train.add_argument("--resume", metavar="DIR", help="continue training from this checkpoint")
    train.add_argument("--devices", default=None, help="N or 'all': train on N GPUs (on a machine without one, N "
                       "logical CPU devices) under tf.distribute; default 1, or GAN_DEVICES")
    for flag, kind in (("--loss", str), ("--model", str), ("--width", int), ("--seed", int),
                       ("--batch-size", int), ("--latent-dim", int), ("--lr-g", float), ("--lr-d", float),
                       ("--beta1", float), ("--d-steps", int), ("--ema", float), ("--image-size", int),
                       ("--channels", int), ("--clusters", int), ("--d-features", int),
                       ("--r1-gamma", float)):
        train.add_argument(flag, type=kind, default=None)
    train.add_argument("--conditional", action=argparse.BooleanOptionalAction, default=None,
                       help="class-conditional G and D (default: on when the data has labels)")
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="DiffAugment-style translation of images shown to D")
    train.add_argument("--max-images", type=int, default=None, metavar="N",
                       help="train on a fixed, seeded, class-balanced N of the images (0: all)")
    train.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=None,
                       help="spectral normalization of the discriminator's layers")

    sample = commands.add_parser("sample", help="write samples of a checkpoint to a .npy file")
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--n", type=int, required=True)
    sample.add_argument("--out", required=True)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--label", type=int, default=None, help="class for a conditional generator")

    evaluate = commands.add_parser("eval", help="print the project's metrics of a checkpoint as JSON")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--n", type=int, default=2000)

    bench = commands.add_parser("bench", help="default recipe vs the TF DCGAN tutorial recipe, side by side")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--seconds", type=float, default=60.0, help="training budget per recipe")
    bench.add_argument("--no-targets", dest="targets", action="store_false",
                       help="skip the unconditional, ring and grid target runs (about 2 minutes)")
    bench.add_argument("--devices", type=int, default=None, metavar="N",
                       help="only the devices figure: images/s on 1 and N devices (logical CPU devices without a GPU)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "bench": cmd_bench}[args.command](args)
    except ValueError as exc:      # ConfigError, DataError and CheckpointError are ValueErrors that say what to do
        print(f"error: {exc}", file=sys.stderr)
        return 2


def config_from_args(args):
    names = ("loss", "model", "width", "seed", "batch_size", "latent_dim", "lr_g", "lr_d", "beta1", "d_steps", "ema",
             "image_size", "channels", "conditional", "augment", "spectral_norm", "clusters", "d_features",
             "r1_gamma", "max_images")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return default_config(args.dataset, **overrides)


def cmd_train(args) -> int:
    if args.steps is not None and args.steps < 1:
        raise ConfigError("--steps must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        raise ConfigError("--seconds must be positive")
    # Everything from outside is checked here, before TensorFlow loads, so a typo answers at once.
    if args.resume:
        checked_run_folder(args.resume)
    config = None if args.resume else config_from_args(args)
    wanted = args.devices or os.environ.get(DEVICES_ENV, "1")
    parse_devices(wanted)
    from playground.engine import devices

    placement = devices.use(wanted)   # before TF sets devices up
    from playground.engine.checkpoints import load_run, save_run
    from playground.engine.run import Run

    run = load_run(args.resume) if args.resume else Run.build(config)
    print(placement.describe(), file=sys.stderr)
    budget = {"steps": args.steps} if args.steps else {"seconds": args.seconds or 60.0}
    first_step, started, progress = run.step, time.perf_counter(), None
    with _progress_bar(budget, started, first_step) as show:
        try:
            progress = run.train_for(**budget, on_chunk=show)
        except KeyboardInterrupt:
            print("\ninterrupted: saving what was trained so far", file=sys.stderr)
    status = 0
    if progress is not None and progress.diverged_at is not None:
        print(f"\nerror: training diverged at step {progress.diverged_at} ({progress.non_finite()}); saved the "
              f"weights of step {run.step}. Lower --lr-g/--lr-d and try again.", file=sys.stderr)
        status = 3
    elapsed, done = time.perf_counter() - started, run.step - first_step
    run.refresh_sampler()
    save_run(run, args.out)
    print(f"trained {done} steps in {elapsed:.1f} s ({done / elapsed:.1f} steps/s, "
          f"{done * run.config.batch_size / elapsed:.0f} images/s); saved {args.out}", file=sys.stderr)
    return status


@contextlib.contextmanager
def _progress_bar(budget, started, first_step):
    """A tqdm bar over steps or seconds; yields the on_chunk callback that moves it."""
    from tqdm import tqdm

    steps, seconds = budget.get("steps"), budget.get("seconds")
    bar = tqdm(total=steps or seconds, unit="step" if steps else "s", file=sys.stderr,
               bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}{postfix}]")

    def show(step, logs):
        bar.set_postfix(d_loss=f"{logs['d_loss']:.3f}", g_loss=f"{logs['g_loss']:.3f}", refresh=False)
        bar.update((step - first_step if steps else min(time.perf_counter() - started, seconds)) - bar.n)

    try:
        yield show
    finally:
        bar.close()


def cmd_sample(args) -> int:
    if not 1 <= args.n <= 1_000_000:
        raise ConfigError("--n must be between 1 and 1000000")
    checked_run_folder(args.checkpoint)
    from playground.engine.checkpoints import load_sampler
    from playground.sampling.latent import z_from_seed

    sampler = load_sampler(args.checkpoint)
    labels = None
    if args.label is not None:
        if not sampler.num_classes:
            raise ConfigError("--label needs a conditional checkpoint; this one has no classes")
        if not 0 <= args.label < sampler.num_classes:
            raise ConfigError(f"--label must be between 0 and {sampler.num_classes - 1}")
        labels = np.full(args.n, args.label, np.int32)
    elif sampler.num_classes:
        labels = (np.arange(args.n) % sampler.num_classes).astype(np.int32)     # classes in equal shares
    # The Explore tab's seed → z: `--seed S` draws the picture the page shows for seed S (the first of n).
    samples = sampler.generate(z_from_seed(args.seed, sampler.latent_dim, args.n), labels)
    np.save(args.out, samples.astype(np.float32))
    print(f"wrote {args.out}: {samples.shape} float32", file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    checked_run_folder(args.checkpoint)
    from playground.engine.checkpoints import load_sampler, read_meta
    from playground.data.datasets import as_trained, load_dataset
    from playground.metrics.evaluate import full_report

    config, meta = read_meta(args.checkpoint)
    report = full_report(load_sampler(args.checkpoint), as_trained(load_dataset(config), config), n=args.n)
    print(json.dumps({"checkpoint": args.checkpoint, "step": meta["step"], **report}, indent=2))
    return 0


def cmd_bench(args) -> int:
    from playground.bench import devices_figure, render_devices, run_bench

    if args.devices is not None:
        if not 1 <= args.devices <= 16:
            raise ConfigError("--devices must be between 1 and 16 for the devices figure")
        rows = devices_figure(sorted({1, args.devices}), min(args.seconds, 60.0))
        print(json.dumps(rows, indent=2) if args.json else render_devices(rows))
        return 0

    return run_bench(seconds=args.seconds, as_json=args.json, targets=args.targets)
