"""Run directories on disk: config.json, generator.keras, discriminator.keras, optimizers.npz, meta.json.

Writes are atomic: everything goes into a hidden temp directory beside the target, which is renamed into place
only when complete, so a crash mid-save never replaces a good checkpoint with a half-written one. meta.json is
written last and is the "complete" marker the loader checks. Models load with `safe_mode=True`, so a
checkpoint someone uploads cannot run code.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import tempfile
import time

import keras
import numpy as np

from playground.engine.config import TrainConfig
from playground.sampling.sampler import Sampler

REQUIRED_FILES = ("config.json", "generator.keras", "discriminator.keras", "optimizers.npz", "meta.json")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class CheckpointError(ValueError):
    """A checkpoint name or directory is unusable; the message says why and what to do."""


def safe_run_name(name: str) -> str:
    """A name for a run directory: letters, digits, '.', '_', '-' (max 64), no separators, no '..'."""
    if not isinstance(name, str) or not name.strip():
        raise CheckpointError("checkpoint name is empty; type a name such as 'my-ring-run'")
    name = name.strip()
    if "/" in name or "\\" in name or ".." in name or os.path.isabs(name):
        raise CheckpointError(f"checkpoint name {name!r} must not contain '/', '\\' or '..'; use a plain name")
    if not NAME_PATTERN.match(name):
        raise CheckpointError(f"checkpoint name {name!r} may use only letters, digits, '.', '_' and '-' "
                              "(up to 64, starting with a letter or digit)")
    return name


def save_run(run, directory) -> pathlib.Path:
    """Write `run` (an engine.Run; caller holds the trainer's lock) to `directory` atomically."""
    target = pathlib.Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _write_files(run, staging)
        _replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_files(run, folder: pathlib.Path):
    gan = run.gan
    (folder / "config.json").write_text(run.config.to_json())
    gan.generator.save(folder / "generator.keras")
    gan.discriminator.save(folder / "discriminator.keras")
    if gan.ema_generator is not None:
        gan.ema_generator.save(folder / "generator_ema.keras")
    optimizer_state = {f"g_{i}": v.numpy() for i, v in enumerate(gan.g_optimizer.variables)}
    optimizer_state.update({f"d_{i}": v.numpy() for i, v in enumerate(gan.d_optimizer.variables)})
    np.savez(folder / "optimizers.npz", **optimizer_state)
    if run.config.dataset == "points":
        np.save(folder / "points.npy", run.dataset.x * run.dataset.scale)
    meta = {"step": run.step, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"), "kind": run.dataset.kind,
            "scale": run.dataset.scale, "num_classes": run.num_classes,
            "data_shape": list(run.dataset.x.shape[1:]), "metrics": run.last_metrics, "record": run.record}
    _write_synced(folder / "meta.json", json.dumps(meta, indent=2))   # last: marks the directory complete


def _write_synced(path: pathlib.Path, text: str):
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_directory(staging: pathlib.Path, target: pathlib.Path):
    # POSIX cannot swap two directories in one step, so the old one is first renamed aside; a crash between
    # the two renames leaves it there, and `recover` puts it back before anyone reads or saves.
    recover(target)
    if not target.exists():
        staging.rename(target)
        return
    retired = target.with_name(f".{target.name}.old-{time.time_ns()}")
    target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def recover(target) -> None:
    """If a crash mid-save left no `target` but its previous version set aside, restore that version."""
    target = pathlib.Path(target)
    retired = sorted(target.parent.glob(f".{target.name}.old-*")) if target.parent.is_dir() else []
    if not target.exists() and retired:
        retired[-1].rename(target)


# -- reading ---------------------------------------------------------------------------------------
def read_meta(directory) -> tuple[TrainConfig, dict]:
    folder = pathlib.Path(directory)
    recover(folder)
    if not folder.is_dir():
        raise CheckpointError(f"no checkpoint directory at {str(folder)!r}")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {folder.name!r} is incomplete (missing {', '.join(missing)}); "
                              "it was not saved fully — pick another or train and save again")
    try:
        return TrainConfig.from_json((folder / "config.json").read_text()), json.loads((folder / "meta.json").read_text())
    except ValueError as exc:
        raise CheckpointError(f"checkpoint {folder.name!r} has an unreadable config or meta file: {exc}") from exc


def _load_model(path: pathlib.Path) -> keras.Model:
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:   # corrupt zip, truncated file, unsafe content: all unusable
        raise CheckpointError(f"cannot load {path.parent.name}/{path.name}: the file is corrupt or not a "
                              f"Keras model ({type(exc).__name__}); pick another checkpoint") from exc


def load_sampler(directory) -> Sampler:
    """A Sampler for the checkpoint's generator (its EMA copy when it has one)."""
    config, meta = read_meta(directory)
    folder = pathlib.Path(directory)
    ema = folder / "generator_ema.keras"
    generator = _load_model(ema if ema.is_file() else folder / "generator.keras")
    num_classes = int(meta["num_classes"])
    return Sampler(generator, config.latent_dim, num_classes, meta["kind"], float(meta["scale"]),
                   config.label_kind(num_classes))     # a saved config is resolved


def load_run(directory):
    """Rebuild an engine.Run from a checkpoint, ready to continue training where it stopped."""
    from playground.engine.run import Run   # engine imports TensorFlow-heavy modules; keep this module light

    config, meta = read_meta(directory)
    folder = pathlib.Path(directory)
    points = np.load(folder / "points.npy") if (folder / "points.npy").is_file() else None
    run = Run.build(config, points)
    _copy_weights(_load_model(folder / "generator.keras"), run.gan.generator)
    _copy_weights(_load_model(folder / "discriminator.keras"), run.gan.discriminator)
    if run.gan.ema_generator is not None and (folder / "generator_ema.keras").is_file():
        _copy_weights(_load_model(folder / "generator_ema.keras"), run.gan.ema_generator)
    with np.load(folder / "optimizers.npz") as state:
        for prefix, optimizer in (("g", run.gan.g_optimizer), ("d", run.gan.d_optimizer)):
            for i, variable in enumerate(optimizer.variables):
                variable.assign(state[f"{prefix}_{i}"])
    run.step = int(meta["step"])
    run.record = meta.get("record") or {}      # plain JSON from outside: the trainer checks it before use
    run.refresh_sampler()
    run.save_good_state()
    return run


def _copy_weights(source: keras.Model, target: keras.Model):
    try:
        target.set_weights(source.get_weights())
    except ValueError as exc:
        raise CheckpointError(f"checkpoint weights do not fit its config ({exc}); the checkpoint is damaged") from exc


def list_checkpoints(root) -> list[pathlib.Path]:
    """Complete run directories directly under `root`, newest first (hidden temp directories skipped)."""
    root = pathlib.Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").is_file()]
    return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)
