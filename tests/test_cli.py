"""The CLI contract from DESIGN.md, run as a user would (subprocesses, real files)."""
import json
import subprocess
import sys

import numpy as np
import pytest


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True,
                          timeout=timeout)


def clis(*calls, timeout=300):
    """Independent commands at once (each loads TensorFlow, mostly on one core); their results, in order."""
    processes = [subprocess.Popen([sys.executable, "-m", "playground", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for args in calls]
    try:
        outputs = [p.communicate(timeout=timeout) for p in processes]
        return [subprocess.CompletedProcess(p.args, p.returncode, *out) for p, out in zip(processes, outputs)]
    finally:
        for p in processes:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def ring_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ring"
    result = cli("train", "--dataset", "ring", "--steps", "30", "--seed", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "steps/s" in result.stderr
    return out


def test_train_sample_eval_on_ring(ring_checkpoint, tmp_path):
    out, again = tmp_path / "ring.npy", tmp_path / "again.npy"
    sample = ["sample", "--checkpoint", str(ring_checkpoint), "--n", "100", "--seed", "4"]
    result, repeated, report = clis([*sample, "--out", str(out)], [*sample, "--out", str(again)],
                                    ["eval", "--checkpoint", str(ring_checkpoint), "--n", "200"])
    assert result.returncode == 0, result.stderr
    points = np.load(out)
    assert points.shape == (100, 2) and points.dtype == np.float32
    assert repeated.returncode == 0, repeated.stderr
    np.testing.assert_array_equal(points, np.load(again))
    assert report.returncode == 0, report.stderr
    values = json.loads(report.stdout)
    assert values["num_modes"] == 8 and 0 <= values["high_quality_share"] <= 1


def test_conditional_digits_sample_with_label(tmp_path):
    run = tmp_path / "d"
    result = cli("train", "--dataset", "digits", "--steps", "3", "--width", "8", "--batch-size", "16",
                 "--max-images", "30", "--out", str(run))
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "config.json").read_text())["max_images"] == 30
    out = tmp_path / "d.npy"
    sample = ["sample", "--checkpoint", str(run), "--n", "5"]
    good, bad = clis([*sample, "--label", "3", "--out", str(out)],
                     [*sample, "--label", "12", "--out", str(tmp_path / "x.npy")])
    assert good.returncode == 0, good.stderr
    images = np.load(out)
    assert images.shape == (5, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
    assert bad.returncode == 2 and "--label must be between 0 and 9" in bad.stderr
    assert not (tmp_path / "x.npy").exists()


@pytest.mark.parametrize("args, words", [
    (["train", "--dataset", "ring", "--steps", "5", "--batch-size", "0", "--out", "x"], "batch_size must be between"),
    (["train", "--dataset", "nowhere.zip", "--steps", "5", "--out", "x"], "neither a known name"),
    (["train", "--dataset", "ring", "--steps", "0", "--out", "x"], "--steps must be at least 1"),
    (["sample", "--checkpoint", "no-such-dir", "--n", "3", "--out", "x.npy"], "no checkpoint directory"),
])
def test_bad_input_exits_nonzero_with_message(args, words, tmp_path):
    result = cli(*args)
    assert result.returncode == 2
    assert words in result.stderr


def test_resume_continues_the_saved_run(ring_checkpoint, tmp_path):
    from playground.engine.checkpoints import read_meta

    out = tmp_path / "more"
    result = cli("train", "--dataset", "ring", "--resume", str(ring_checkpoint), "--steps", "12", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "trained 12 steps" in result.stderr
    (before, before_meta), (after, after_meta) = read_meta(ring_checkpoint), read_meta(out)
    assert after_meta["step"] == before_meta["step"] + 12 == 42
    assert after == before, "a resumed run keeps its own settings"
    assert (out / "generator.keras").read_bytes() != (ring_checkpoint / "generator.keras").read_bytes()


PROBE = """
import sys
from playground.cli import main
code = main(sys.argv[1:])
print("exit", code, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize("args, words", [
    (["train", "--dataset", "ring", "--steps", "5", "--width", "1", "--out", "x"], "width must be between"),
    (["train", "--dataset", "ring", "--seconds", "-1", "--out", "x"], "--seconds must be positive"),
    (["train", "--dataset", "ring", "--loss", "wasserstein", "--out", "x"], "loss must be one of"),
    (["train", "--dataset", "ring", "--max-images", "100", "--out", "x"], "max_images is for image datasets"),
    (["train", "--dataset", "digits", "--max-images", "-5", "--out", "x"], "max_images must be between 0"),
    (["sample", "--checkpoint", "ckpt", "--n", "0", "--out", "x.npy"], "--n must be between"),
    (["sample", "--checkpoint", "no-such-run", "--n", "3", "--out", "x.npy"], "no checkpoint directory"),
    (["eval", "--checkpoint", "no-such-run"], "no checkpoint directory"),
    (["train", "--dataset", "ring", "--resume", "no-such-run", "--out", "x"], "no checkpoint directory"),
    (["train", "--dataset", "ring", "--devices", "zero", "--out", "x"], "devices must be 'all' or a whole number"),
])
def test_argument_errors_answer_before_tensorflow_loads(args, words):
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    assert words in result.stderr
    assert result.stdout.split() == ["exit", "2", "False", "False"]


def test_argparse_errors_answer_before_tensorflow_loads():
    probe = "import sys\nfrom playground.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n" \
            "    print('exit', e.code, 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe, "train", "--dataset", "ring", "--steps", "many"],
                            capture_output=True, text=True, timeout=120)
    assert "invalid int value: 'many'" in result.stderr
    assert result.stdout.split() == ["exit", "2", "False"]


def test_train_on_two_logical_devices_says_so(tmp_path):
    out = tmp_path / "ring2"
    result = cli("train", "--dataset", "ring", "--steps", "4", "--devices", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "training on 2 logical CPU devices (MirroredStrategy)" in result.stderr
    assert (out / "meta.json").is_file()


def test_sample_seed_draws_the_picture_the_explore_tab_shows_for_that_seed(tmp_path):
    """`sample --seed S` uses the Explore tab's seed → z (latent.z_from_seed), so both show one picture."""
    from playground.engine.checkpoints import load_sampler
    from playground.sampling.latent import z_from_seed
    from playground.web.sessions import checkpoints_root

    digits = checkpoints_root() / "digits"
    out = tmp_path / "seven.npy"
    result = cli("sample", "--checkpoint", str(digits), "--n", "1", "--seed", "7", "--label", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    sampler = load_sampler(digits)
    expected = sampler.generate(z_from_seed(7, sampler.latent_dim), np.array([3], np.int32))
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)
