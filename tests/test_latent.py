"""latent.py: seeds, truncation, lerp/slerp, slider edits, GANSpace-style PCA directions."""
import numpy as np
import pytest

from playground.sampling import latent

DIM = 16


def test_z_from_seed_is_deterministic_standard_normal_float32():
    z = latent.z_from_seed(7, DIM, n=4)
    assert z.shape == (4, DIM) and z.dtype == np.float32
    np.testing.assert_array_equal(z, latent.z_from_seed(7, DIM, n=4))
    assert not np.array_equal(z, latent.z_from_seed(8, DIM, n=4))
    big = latent.z_from_seed(0, 64, n=2000)
    assert abs(big.mean()) < 0.02 and abs(big.std() - 1.0) < 0.02


@pytest.mark.parametrize("kwargs", [dict(seed=-1, latent_dim=4), dict(seed=0, latent_dim=0),
                                    dict(seed=0, latent_dim=4, n=0), dict(seed=1.5, latent_dim=4)])
def test_z_from_seed_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must be"):
        latent.z_from_seed(**kwargs)


def test_truncate_scales_toward_the_mean():
    z = latent.z_from_seed(1, DIM, n=3)
    np.testing.assert_allclose(latent.truncate(z, 0.5), z * 0.5)
    np.testing.assert_array_equal(latent.truncate(z, 1.0), z)
    for psi in (0.0, -0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match=r"psi must be a number in \(0, 1\]"):
            latent.truncate(z, psi)


def test_lerp_endpoints_and_midpoint():
    z0, z1 = latent.z_from_seed(1, DIM)[0], latent.z_from_seed(2, DIM)[0]
    np.testing.assert_allclose(latent.lerp(z0, z1, 0.0), z0)
    np.testing.assert_allclose(latent.lerp(z0, z1, 1.0), z1)
    np.testing.assert_allclose(latent.lerp(z0, z1, 0.5), (z0 + z1) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match=r"t must be a number in \[0, 1\]"):
        latent.lerp(z0, z1, 1.2)
    with pytest.raises(ValueError, match="same non-empty shape"):
        latent.lerp(z0, z1[:-1], 0.5)


def test_slerp_endpoints_keeps_norm_and_stays_on_the_arc():
    z0, z1 = latent.z_from_seed(3, DIM)[0], latent.z_from_seed(4, DIM)[0]
    z1 = z1 * (np.linalg.norm(z0) / np.linalg.norm(z1))       # equal norms: the arc keeps that norm
    np.testing.assert_allclose(latent.slerp(z0, z1, 0.0), z0, atol=1e-6)
    np.testing.assert_allclose(latent.slerp(z0, z1, 1.0), z1, atol=1e-5)
    for t in (0.25, 0.5, 0.75):
        assert np.linalg.norm(latent.slerp(z0, z1, t)) == pytest.approx(np.linalg.norm(z0), rel=1e-5)
    # Lerp's midpoint cuts inside the sphere; slerp's does not.
    assert np.linalg.norm(latent.lerp(z0, z1, 0.5)) < 0.95 * np.linalg.norm(z0)
    # The angle to z0 grows linearly with t.
    angle = lambda a, b: np.arccos(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))
    total = angle(z0, z1)
    assert angle(z0, latent.slerp(z0, z1, 0.3)) == pytest.approx(0.3 * total, rel=1e-4)


def test_slerp_nearly_parallel_is_finite_and_opposite_or_zero_is_refused():
    z0 = latent.z_from_seed(5, DIM)[0]
    nearly = z0 * 2.0 + 1e-9
    out = latent.slerp(z0, nearly, 0.5)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 1.5 * z0, rtol=1e-5)
    with pytest.raises(ValueError, match="opposite directions"):
        latent.slerp(z0, -z0, 0.5)
    with pytest.raises(ValueError, match="non-zero"):
        latent.slerp(np.zeros(DIM), z0, 0.5)


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_path_shape_and_ends(mode):
    z0, z1 = latent.z_from_seed(1, DIM), latent.z_from_seed(2, DIM)     # (1, DIM) is accepted
    path = latent.interpolation_path(z0, z1, 9, mode=mode)
    assert path.shape == (9, DIM) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], z0[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], z1[0], atol=1e-5)
    assert len(np.unique(path[:, 0])) == 9


def test_interpolation_path_rejects_bad_input():
    z0, z1 = latent.z_from_seed(1, DIM)[0], latent.z_from_seed(2, DIM)[0]
    with pytest.raises(ValueError, match="'linear' or 'spherical'"):
        latent.interpolation_path(z0, z1, 5, mode="cubic")
    with pytest.raises(ValueError, match="n_frames must be >= 2"):
        latent.interpolation_path(z0, z1, 1)
    with pytest.raises(ValueError, match="one latent vector"):
        latent.interpolation_path(np.stack([z0, z0]), np.stack([z1, z1]), 5)


def test_z_from_sliders_sets_raw_dimensions():
    base = latent.z_from_seed(0, DIM)                       # (1, DIM)
    out = latent.z_from_sliders(base, [1.0, -2.0, 0.5])
    assert out.shape == base.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :3], [1.0, -2.0, 0.5])
    np.testing.assert_array_equal(out[0, 3:], base[0, 3:])
    with pytest.raises(ValueError, match=f"only {DIM} dimensions"):
        latent.z_from_sliders(base, np.zeros(DIM + 1))


def test_z_from_sliders_moves_along_directions():
    base = latent.z_from_seed(0, DIM)[0]
    directions = np.eye(DIM, dtype=np.float32)[[3, 5]]
    out = latent.z_from_sliders(base, [2.0, -1.0], directions)
    expected = base.copy()
    expected[3] += 2.0
    expected[5] -= 1.0
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(latent.z_from_sliders(base, [0.0, 0.0], directions), base)
    with pytest.raises(ValueError, match=r"\(2, 16\)"):
        latent.z_from_sliders(base, [1.0, 2.0], directions[:1])
    with pytest.raises(ValueError, match="NaN or inf"):
        latent.z_from_sliders(base, [float("nan"), 0.0], directions)


def _linear_generator(latent_dim=32, out_dim=100, seed=0):
    """z -> z @ A, where A's output variance is dominated by one planted latent direction."""
    rng = np.random.default_rng(seed)
    planted = rng.standard_normal(latent_dim)
    planted /= np.linalg.norm(planted)
    a = 0.1 * rng.standard_normal((latent_dim, out_dim)) + 5.0 * np.outer(planted, rng.standard_normal(out_dim))
    calls = []

    def generate(z, labels):
        calls.append((z.shape, None if labels is None else labels.copy()))
        return (z @ a).reshape(len(z), 10, 10, 1)      # image-shaped, like a real sampler
    return generate, planted, calls


def test_pca_directions_recover_a_planted_direction():
    generate, planted, _ = _linear_generator()
    directions = latent.pca_directions(generate, 32, k=3, n_samples=400, seed=0)
    assert directions.shape == (3, 32) and directions.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-5)
    assert abs(directions[0] @ planted) > 0.99
    assert np.all(np.abs(directions[1:] @ planted) < 0.3)


def test_pca_directions_match_exact_pca_of_a_known_spectrum():
    # Outputs z @ A with A = U diag(s) V^T: the top principal components map back to U's first columns.
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.standard_normal((24, 24)))
    v, _ = np.linalg.qr(rng.standard_normal((300, 24)))
    a = (u * (3.0 * 0.7 ** np.arange(24))) @ v.T
    directions = latent.pca_directions(lambda z, labels: z @ a, 24, k=4, n_samples=2000, seed=3)
    cosines = np.abs(np.sum(directions * u[:, :4].T, axis=1))
    assert np.all(cosines > 0.97), cosines


def test_pca_directions_are_deterministic_and_batched_with_labels():
    generate, _, calls = _linear_generator()
    first = latent.pca_directions(generate, 32, k=2, n_samples=300, seed=5, labels=4, batch_size=128)
    assert [shape for shape, _ in calls] == [(128, 32), (128, 32), (44, 32)]
    assert all(np.all(labels == 4) for _, labels in calls)
    np.testing.assert_array_equal(first, latent.pca_directions(generate, 32, k=2, n_samples=300, seed=5))


def test_pca_directions_reject_bad_input_and_bad_generators():
    generate, _, _ = _linear_generator()
    with pytest.raises(ValueError, match="k must be between 1 and 32"):
        latent.pca_directions(generate, 32, k=33)
    with pytest.raises(ValueError, match="n_samples must be >= 33"):
        latent.pca_directions(generate, 32, k=2, n_samples=10)
    with pytest.raises(ValueError, match="one output row per z"):
        latent.pca_directions(lambda z, labels: z[:1], 32, k=2, n_samples=100)
    with pytest.raises(ValueError, match="diverged"):
        latent.pca_directions(lambda z, labels: z * np.nan, 32, k=2, n_samples=100)
    with pytest.raises(ValueError, match="k <= 2"):
        latent.pca_directions(lambda z, labels: z[:, :2], 32, k=3, n_samples=100)
    with pytest.raises(ValueError, match="does not depend on z"):
        latent.pca_directions(lambda z, labels: np.ones((len(z), 5)), 32, k=2, n_samples=100)
    with pytest.raises(ValueError, match="labels must be"):
        latent.pca_directions(generate, 32, k=2, n_samples=100, labels=np.zeros(3, np.int32))


def test_pca_directions_refuse_more_directions_than_the_output_has():
    weights = np.random.default_rng(0).standard_normal(50)
    rank_one = lambda z, labels: np.outer(z[:, 0], weights)     # output moves along one direction only
    with pytest.raises(ValueError, match="varies along only 1 directions; use k <= 1"):
        latent.pca_directions(rank_one, 8, k=2, n_samples=100)
    only = latent.pca_directions(rank_one, 8, k=1, n_samples=100)
    np.testing.assert_allclose(np.abs(only[0]), np.eye(8)[0], atol=1e-5)
