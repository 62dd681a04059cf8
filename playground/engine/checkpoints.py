"""Run directories on disk: config.json, generator.keras, discriminator.keras, optimizers.npz, meta.json, and the
optional files engine/run_files.py lists (an EMA generator, a points run's data, the timeline).

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

from playground.engine.config import OutsideDatasetError, TrainConfig
from playground.engine.run_files import (MAX_RECORD_FILE_BYTES, RECORD_FILES, REQUIRED_FILES,  # noqa: F401
                                         CheckpointError, checked_run_folder, recover)
from playground.sampling.sampler import Sampler
from playground.text import shown

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class CheckpointExistsError(CheckpointError):
    """Another save took this name first."""


def safe_run_name(name: str) -> str:
    """A name for a run directory: letters, digits, '.', '_', '-' (max 64), no separators, no '..'."""
    if not isinstance(name, str) or not name.strip():
        raise CheckpointError("checkpoint name is empty; type a name such as 'my-ring-run'")
    name = name.strip()
    if "/" in name or "\\" in name or ".." in name or os.path.isabs(name):
        raise CheckpointError(f"checkpoint name {shown(name)} must not contain '/', '\\' or '..'; use a plain name")
    if not NAME_PATTERN.match(name):
        raise CheckpointError(f"checkpoint name {shown(name)} may use only letters, digits, '.', '_' and '-' "
                              "(up to 64, starting with a letter or digit)")
    return name


def save_run(run, directory, replace: bool = True) -> pathlib.Path:
    """Write `run` (an engine.Run; caller holds the trainer's lock) to `directory` atomically. With
    replace=False the name is claimed by the final rename itself, so of two saves racing for one new name
    exactly one wins; the other raises CheckpointExistsError and leaves the winner's files alone."""
    target = pathlib.Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not replace and target.exists():
        raise CheckpointExistsError(f"a saved run named {shown(target.name)} already exists; pick another name")
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _write_files(run, staging)
        (_replace_directory if replace else _claim_directory)(staging, target)
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
    for name, data in run.record_files.items():
        if name in RECORD_FILES:
            (folder / name).write_bytes(data)
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


def _claim_directory(staging: pathlib.Path, target: pathlib.Path):
    # rename(2) onto an existing run folder fails (it is never empty): the name goes to whoever renames first.
    recover(target)
    try:
        os.rename(staging, target)
    except OSError as exc:
        if target.exists():
            raise CheckpointExistsError(f"a saved run named {shown(target.name)} already exists; pick another "
                                        "name") from exc
        raise


# -- reading ---------------------------------------------------------------------------------------
def read_meta(directory, from_outside: bool = False) -> tuple[TrainConfig, dict]:
    """config.json and meta.json, both checked. `from_outside`: an uploaded run (TrainConfig.from_json)."""
    folder = checked_run_folder(directory)
    try:
        config = TrainConfig.from_json((folder / "config.json").read_text(), from_outside)
        meta = json.loads((folder / "meta.json").read_text())
    except OutsideDatasetError:
        raise
    except (ValueError, TypeError) as exc:      # TypeError: a field of the wrong kind, e.g. a list for a number
        raise CheckpointError(f"checkpoint {shown(folder.name)} has an unreadable config or meta file: "
                              f"{shown(str(exc), 300)}") from exc
    return config, _checked_meta(meta, folder.name)


def _checked_meta(meta, name: str) -> dict:
    """meta.json's fields the loaders read, each of the right kind (an uploaded run's meta.json is anyone's)."""
    def whole(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def positive(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) and value > 0

    checks = {"step": whole, "num_classes": whole, "kind": lambda v: v in ("toy", "image"), "scale": positive}
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {shown(name)}: meta.json must hold one JSON object, not a "
                              f"{type(meta).__name__}; the checkpoint is damaged")
    for field, check in checks.items():
        if field not in meta or not check(meta[field]):
            raise CheckpointError(f"checkpoint {shown(name)}: meta.json's {field!r} is missing or wrong (got "
                                  f"{shown(meta.get(field))}); the checkpoint is damaged — save the run again")
    return meta


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


def load_run(directory, from_outside: bool = False):
    """Rebuild an engine.Run from a checkpoint, ready to continue training where it stopped. `from_outside`: the
    checkpoint came from an uploaded zip, so its config may name only a built-in dataset."""
    from playground.engine.run import Run   # engine imports TensorFlow-heavy modules; keep this module light

    config, meta = read_meta(directory, from_outside)
    folder = pathlib.Path(directory)
    points = _load_array(folder / "points.npy") if (folder / "points.npy").is_file() else None
    run = Run.build(config, points)
    _copy_weights(_load_model(folder / "generator.keras"), run.gan.generator)
    _copy_weights(_load_model(folder / "discriminator.keras"), run.gan.discriminator)
    if run.gan.ema_generator is not None and (folder / "generator_ema.keras").is_file():
        _copy_weights(_load_model(folder / "generator_ema.keras"), run.gan.ema_generator)
    _restore_optimizers(run, folder / "optimizers.npz")
    run.step = int(meta["step"])
    run.record = meta.get("record") or {}      # plain JSON from outside: the trainer checks it before use
    run.record_files = _read_record_files(folder)
    run.refresh_sampler()
    run.save_good_state()
    return run


def _read_record_files(folder: pathlib.Path) -> dict:
    """The record files there are, as bytes (the trainer checks them before use); one over the size any run writes
    is cut there, and the trainer says it is too big."""
    files = {}
    for name in RECORD_FILES:
        if (folder / name).is_file():
            with open(folder / name, "rb") as handle:
                files[name] = handle.read(MAX_RECORD_FILE_BYTES + 1)
    return files


def _load_array(path: pathlib.Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path.parent.name}/{path.name} is not a readable NumPy array; the checkpoint is "
                              "damaged") from exc


def _restore_optimizers(run, path: pathlib.Path):
    """Adam's state from optimizers.npz: exactly the arrays this run's optimizers have, of the same shapes."""
    variables = {f"{prefix}_{i}": variable for prefix, optimizer in (("g", run.gan.g_optimizer),
                                                                      ("d", run.gan.d_optimizer))
                 for i, variable in enumerate(optimizer.variables)}
    damaged = f"{path.parent.name}/optimizers.npz does not fit this run's optimizers"
    try:
        with np.load(path, allow_pickle=False) as state:
            if sorted(state.files) != sorted(variables):
                raise CheckpointError(f"{damaged} (it holds {len(state.files)} arrays, the run has "
                                      f"{len(variables)}); the checkpoint is damaged — save the run again")
            arrays = {key: state[key] for key in variables}
    except CheckpointError:
        raise
    except Exception as exc:    # not an npz, a truncated member, pickled objects: all unusable
        raise CheckpointError(f"{path.parent.name}/optimizers.npz is not a readable NumPy archive "
                              f"({type(exc).__name__}); the checkpoint is damaged") from exc
    for key, variable in variables.items():
        if arrays[key].shape != tuple(variable.shape) or not np.issubdtype(arrays[key].dtype, np.number):
            raise CheckpointError(f"{damaged} ({key} has shape {arrays[key].shape}, expected "
                                  f"{tuple(variable.shape)}); the checkpoint is damaged")
        variable.assign(arrays[key].astype(variable.dtype))


def _copy_weights(source: keras.Model, target: keras.Model):
    try:
        target.set_weights(source.get_weights())
    except ValueError as exc:
        raise CheckpointError(f"checkpoint weights do not fit its config ({shown(str(exc), 300)}); the checkpoint "
                              "is damaged") from exc


def list_checkpoints(root) -> list[pathlib.Path]:
    """Complete run directories directly under `root`, newest first (hidden temp directories skipped)."""
    root = pathlib.Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").is_file()]
    return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)
