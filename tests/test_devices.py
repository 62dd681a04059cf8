"""Several devices through tf.distribute, on logical CPU devices: the same losses as one device, and checkpoints
that move between device counts. Each device setting is its own process (logical devices are per process)."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from playground.engine import devices

BUNDLED_DIGITS = pathlib.Path(__file__).resolve().parent.parent / "checkpoints" / "digits"

# argv: devices, output folder, checkpoints to resume (each waited for until its meta.json, written last, is there:
# the two children run at once). Prints one JSON object: each run's logs per call.
CHILD = r"""
import json, os, sys, time
import tensorflow as tf
from playground.engine import devices

wanted, out, resumes = sys.argv[1], sys.argv[2], sys.argv[3:]
late = None
if wanted == "1":               # TensorFlow sets its devices up here; splitting the CPU afterwards must fail clearly
    tf.constant(1.0) + 1.0
    try:
        devices.use("2")
    except devices.DeviceError as exc:
        late = str(exc)
placement = devices.use(wanted)

from playground.engine.checkpoints import load_run, save_run
from playground.engine.config import default_config
from playground.engine.run import Run

result = {"describe": placement.describe(), "late": late}
try:
    Run.build(default_config("ring", batch_size=15))
except devices.DeviceError as exc:
    result["uneven"] = str(exc)
# digits: hinge, R1, EMA, shared fakes, augment; a compiled step, a chunk, D alone, G alone
run = Run.build(default_config("digits", seed=3, width=8, batch_size=16, augment=True))
result["digits"] = [run.train(), run.train_chunk(2), run.train("d"), run.train("g")]
save_run(run, f"{out}/digits")
# The NaN guard: its saved state comes back on every device's copy of every variable.
saved = [v.numpy() for v in run._state_variables()]
run.save_good_state()
run.train()
result["restored step"] = run.restore_good_state()
copies = [(c.numpy(), value) for v, value in zip(run._state_variables(), saved)
          for c in getattr(v.value, "values", (v.value,))]
result["copies"] = len(copies) / len(saved)
result["restored"] = all((c == value).all() for c, value in copies)
# ring: WGAN-GP, fresh fakes for G, two D steps per G step inside a chunk
result["ring"] = [Run.build(default_config("ring", seed=3, batch_size=32, loss="wgan-gp", d_steps=2)).train_chunk(2)]
for directory in resumes:
    deadline = time.monotonic() + 600
    while not os.path.exists(os.path.join(directory, "meta.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    resumed = load_run(directory)
    result["resumed " + directory] = [resumed.train_chunk(2)]
    result["step " + directory] = resumed.step
print(json.dumps(result))
"""


def started(wanted, out, *resumes):
    return subprocess.Popen([sys.executable, "-c", CHILD, wanted, str(out), *map(str, resumes)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def results(*children):
    """Each child's JSON; the first failure ends them all (the one-device child would wait for a checkpoint)."""
    outputs = []
    try:
        for child in children:
            stdout, stderr = child.communicate(timeout=600)
            assert child.returncode == 0, stderr[-3000:]
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for child in children:
            child.kill()
            child.wait()
    return outputs


def assert_same_logs(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right):
        assert a.keys() == b.keys()
        np.testing.assert_allclose([a[k] for k in sorted(a)], [b[k] for k in sorted(b)], rtol=1e-4, atol=1e-5)


def weights(folder):
    import keras

    return [w for name in ("generator", "discriminator", "generator_ema")
            for w in keras.saving.load_model(folder / f"{name}.keras", compile=False).get_weights()]


def test_two_devices_train_as_one_and_checkpoints_move_between_them(tmp_path):
    two, one = results(started("2", tmp_path / "two", BUNDLED_DIGITS),        # both at once: one core each
                       started("1", tmp_path / "one", BUNDLED_DIGITS, tmp_path / "two" / "digits"))
    assert two["describe"] == "training on 2 logical CPU devices (MirroredStrategy)"
    assert one["describe"] == "training on the CPU"
    assert "already set up its devices" in one["late"] and "GAN_DEVICES" in one["late"]
    assert "multiple of 2" in two["uneven"] and "uneven" not in one
    assert two["restored"] and one["restored"] and (two["copies"], one["copies"]) == (2, 1)
    assert two["restored step"] == one["restored step"] == 5
    for name in ("digits", "ring"):                    # same seed, same global batch: the same losses
        assert_same_logs(two[name], one[name])
    # The same files and weights from either device count; a 1-device checkpoint continues the same on two ...
    folders = {n: tmp_path / n / "digits" for n in ("one", "two")}
    assert sorted(p.name for p in folders["one"].iterdir()) == sorted(p.name for p in folders["two"].iterdir())
    for a, b in zip(weights(folders["one"]), weights(folders["two"]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert_same_logs(two[f"resumed {BUNDLED_DIGITS}"], one[f"resumed {BUNDLED_DIGITS}"])
    # ... and a 2-device one resumes on one device where it stopped.
    assert one[f"step {folders['two']}"] == 5 + 2
    assert np.isfinite(list(one[f"resumed {folders['two']}"][0].values())).all()


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "99"])
def test_a_bad_devices_setting_says_what_is_allowed(text):
    with pytest.raises(devices.DeviceError, match="'all' or a whole number"):
        devices.parse_devices(text)


def test_devices_parse_all_and_counts():
    assert devices.parse_devices(" ALL ") == "all" and devices.parse_devices("4") == 4


def test_the_gpu_requirements_pin_the_same_versions_with_tensorflows_cuda_build():
    def pins(name):
        lines = (pathlib.Path(__file__).resolve().parent.parent / name).read_text().splitlines()
        return dict(line.split("#")[0].strip().split("==") for line in lines if "==" in line)

    cpu, gpu = pins("requirements.txt"), pins("requirements-gpu.txt")
    assert gpu.pop("tensorflow[and-cuda]") == cpu.pop("tensorflow-cpu")
    assert gpu == cpu
