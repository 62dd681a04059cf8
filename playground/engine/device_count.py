"""How many devices a user asked for ("N" or "all", from `--devices` or GAN_DEVICES), checked without TensorFlow
so that the command line answers a typo at once; engine/devices.py sets the devices up."""
from __future__ import annotations

DEVICES_ENV = "GAN_DEVICES"
MAX_LOGICAL_CPUS = 16


class DeviceError(ValueError):
    """A devices setting that cannot be honoured; the message says what to do."""


def parse_devices(text) -> int | str:
    """ "all" or a whole number >= 1 (from a flag or GAN_DEVICES)."""
    value = str(text).strip().lower()
    if value == "all":
        return "all"
    if value.isdigit() and 1 <= int(value) <= MAX_LOGICAL_CPUS:
        return int(value)
    raise DeviceError(f"devices must be 'all' or a whole number from 1 to {MAX_LOGICAL_CPUS}, got {text!r}")
