"""The generator export the page runs (playground/sampling/export.py): its steps, run here with TensorFlow ops the
way static/explore.js runs them with TensorFlow.js ops, give the sampler's own output; the facts it ships match
the Python side (base z per seed, PCA directions and their variance shares)."""
import pathlib

import numpy as np
import pytest

from playground.sampling import export, latent

CHECKPOINTS = pathlib.Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture(scope="module", params=["digits", "ring"])
def sampler(request):
    from playground.engine.checkpoints import load_sampler

    return load_sampler(CHECKPOINTS / request.param)


def run_steps(steps, z, label, kind, scale):
    """The page's forward pass (explore.js `generate`), op for op, in TensorFlow."""
    import tensorflow as tf

    h = tf.constant(z)
    n = z.shape[0]
    for s in steps:
        weight = {k: tf.constant(export.decode(s[k])) for k in ("table", "kernel", "bias", "scale", "shift")
                  if s.get(k)}
        if s["op"] == "embed":
            h = tf.concat([h, tf.tile(weight["table"][label:label + 1], [n, 1])], 1)
        elif s["op"] in ("dense", "conv_t"):
            if s["op"] == "dense":
                h = tf.matmul(h, weight["kernel"])
            else:
                sh, sw = s["strides"]
                out = [n, h.shape[1] * sh, h.shape[2] * sw, weight["kernel"].shape[2]]
                h = tf.nn.conv2d_transpose(h, weight["kernel"], out, [1, sh, sw, 1], "SAME")
            h = h + weight["bias"] if "bias" in weight else h
            h = {"relu": tf.nn.relu, "tanh": tf.tanh, None: lambda x: x}[s["activation"]](h)
        elif s["op"] == "affine":
            h = h * weight["scale"] + weight["shift"]
        elif s["op"] == "relu":
            h = tf.nn.relu(h)
        elif s["op"] == "reshape":
            h = tf.reshape(h, [n, *s["shape"]])
        else:
            raise AssertionError(f"unexpected step {s['op']}")
    return h.numpy() * (scale if kind == "toy" else 1.0)


def test_exported_steps_reproduce_the_sampler(sampler):
    payload = export.export_generator(sampler, {None: (np.eye(2, sampler.latent_dim), np.ones(2))})
    z = latent.z_from_seed(3, sampler.latent_dim, 16)
    label = 7 if sampler.num_classes else 0
    expected = sampler.generate(z, [label] * 16 if sampler.num_classes else None)
    got = run_steps(payload["steps"], z, label, payload["kind"], payload["scale"])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert payload["output_shape"] == list(expected.shape[1:])


def test_seed_table_rows_are_z_from_seed(sampler):
    table = export.decode(export.seed_table(sampler.latent_dim))
    assert table.shape == (export.SEEDS, sampler.latent_dim)
    for seed in (0, 1, 517, export.SEEDS - 1):
        np.testing.assert_array_equal(table[seed], latent.z_from_seed(seed, sampler.latent_dim)[0])


def test_page_directions_match_pca_directions_and_report_shares(sampler):
    directions = export.page_directions(sampler, 10)
    label = 4 if sampler.num_classes else None
    assert sorted(directions, key=str) == sorted(list(range(sampler.num_classes)) or [None], key=str)
    vectors, shares = directions[label]
    reference = latent.pca_directions(sampler.generate, sampler.latent_dim, len(vectors), n_samples=500, labels=label)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    assert np.all(shares > 0) and shares.sum() <= 1.0 + 1e-5
    assert np.all(np.diff(shares) <= 1e-6), "components come largest first"


def test_a_layer_the_page_cannot_run_is_refused():
    import keras

    z = keras.Input((4,))
    model = keras.Model(z, keras.layers.Dense(3, activation="softplus")(z))
    with pytest.raises(export.UnsupportedModel, match="softplus"):
        export.generator_steps(model)


def test_the_page_gets_a_clear_error_while_the_live_run_has_no_model(tmp_path):
    import json

    import gradio as gr

    from playground.web.app import PlaygroundUI
    from playground.web.sessions import SessionRegistry

    ui = PlaygroundUI(SessionRegistry(max_trainings=1, max_train_seconds=None), tmp_path)
    request = gr.Request(session_hash="visitor")
    assert "press Train" in json.loads(ui.explore.page_model(request, "live"))["error"]
    assert "not one of the listed checkpoints" in json.loads(ui.explore.page_model(request, "/etc"))["error"]
