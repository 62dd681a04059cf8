"""Where runs train: one device as ever, or several under `tf.distribute` (docs/bigger-runs.md).

A process picks its devices once, before TensorFlow sets its devices up: `use("2")` (CLI `--devices`, the app's
GAN_DEVICES). One device gets no strategy at all, so it trains exactly as before. Several train under
`MirroredStrategy`: every replica holds a copy of the models, the global batch is split between them and the
gradients are summed (`playground.engine.replicas` holds the per-replica arithmetic). On a machine without GPUs,
N devices are N logical CPU devices: no faster, but the whole multi-device path runs and is tested on a laptop.
With TF_CONFIG set (several machines), the strategy is `MultiWorkerMirroredStrategy`.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass

import tensorflow as tf

from playground.engine.device_count import DEVICES_ENV, DeviceError, parse_devices


@dataclass(frozen=True)
class Placement:
    """The devices runs of this process train on, and the strategy (None: one device, no strategy)."""
    devices: tuple
    kind: str                                   # "GPU" or "CPU"
    strategy: tf.distribute.Strategy | None = None

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    def describe(self) -> str:
        """One line for the CLI and the status line, e.g. "training on 2 logical CPU devices (MirroredStrategy)"."""
        if self.strategy is None:
            return f"training on {'GPU ' + self.devices[0] if self.kind == 'GPU' else 'the CPU'}"
        if isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return (f"training on {self.replicas} {self.kind} devices of {len(self.devices)} machines "
                    "(MultiWorkerMirroredStrategy)")
        what = "GPUs" if self.kind == "GPU" else "logical CPU devices"
        return f"training on {self.replicas} {what} (MirroredStrategy)"

    def scope(self):
        """Variables made inside are mirrored on every device."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def check_batch(self, batch_size: int):
        if batch_size % self.replicas:
            raise DeviceError(f"batch size {batch_size} does not split evenly over {self.replicas} devices; "
                              f"pick a multiple of {self.replicas}")

    def distribute(self, make_pipeline, batch_size: int, seed: int):
        """`make_pipeline(batch, seed)` as this placement feeds it: whole global batches on one device; split
        between replicas (first rows to the first replica) on one machine; across machines, one pipeline of
        per-replica batches on each, with its own seed."""
        if self.strategy is None:
            return make_pipeline(batch_size, seed)
        if isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            def per_worker(context):
                return make_pipeline(context.get_per_replica_batch_size(batch_size),
                                     seed + 7919 * context.input_pipeline_id)
            return self.strategy.distribute_datasets_from_function(per_worker)
        return self.strategy.experimental_distribute_dataset(make_pipeline(batch_size, seed))

    def step(self, fn):
        """`fn` (a GAN step returning logs that are already global, replicas.py) run on every replica."""
        if self.strategy is None:
            return fn

        def replicated(*args):
            logs = self.strategy.run(fn, args=args)
            return {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}
        return replicated


_placement: Placement | None = None


def use(devices="1") -> Placement:
    """Set up this process's devices and remember them for every later run. Call before any model is built:
    splitting the CPU into logical devices is only possible before TensorFlow has set its devices up."""
    global _placement
    wanted = parse_devices(devices)
    if _placement is not None:
        if wanted in ("all", _placement.replicas) or (wanted == 1 and _placement.strategy is None):
            return _placement
        raise DeviceError(f"this process already trains on {_placement.replicas} device(s); devices are chosen "
                          "once per process: start a new one to change them")
    _placement = _multi_worker() if os.environ.get("TF_CONFIG") else _local(wanted)
    return _placement


def current() -> Placement:
    """The placement `use` chose, or one device (the first GPU, else the CPU) when nobody chose."""
    global _placement
    if _placement is None:
        _placement = use(os.environ.get(DEVICES_ENV, "1"))
    return _placement


def _local(wanted) -> Placement:
    gpus = tf.config.list_physical_devices("GPU")       # lists without setting devices up
    if gpus:
        count = len(gpus) if wanted == "all" else wanted
        if count > len(gpus):
            raise DeviceError(f"asked for {count} devices but this machine has {len(gpus)} GPU(s); "
                              f"use --devices {len(gpus)} or 'all'")
        names = tuple(f"/gpu:{i}" for i in range(count))
        return Placement(names, "GPU", tf.distribute.MirroredStrategy(list(names)) if count > 1 else None)
    count = 1 if wanted == "all" else wanted            # "all" of one CPU is the CPU itself
    if count > 1:
        _split_cpu(count)
    names = tuple(f"/cpu:{i}" for i in range(count))
    return Placement(names, "CPU", tf.distribute.MirroredStrategy(list(names)) if count > 1 else None)


def _split_cpu(count: int):
    cpu = tf.config.list_physical_devices("CPU")[0]
    logical = tf.config.get_logical_device_configuration(cpu)
    if logical is not None and len(logical) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as exc:    # TensorFlow refuses once its devices are set up
        raise DeviceError(f"cannot split the CPU into {count} devices: TensorFlow has already set up its devices "
                          f"in this process ({exc}). Choose devices first: --devices on the command line or "
                          f"{DEVICES_ENV} in the environment, before anything trains") from exc


def _multi_worker() -> Placement:
    try:
        workers = len(json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DeviceError(f"TF_CONFIG is not valid JSON with cluster.worker ({exc}); see docs/bigger-runs.md") from exc
    gpus = tf.config.list_physical_devices("GPU")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Placement(tuple(f"worker {i}" for i in range(workers)), "GPU" if gpus else "CPU", strategy)
