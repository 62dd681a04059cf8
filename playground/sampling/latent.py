"""Latent-space helpers for the Explore tab: seeds → z, truncation, lerp/slerp walks, slider edits,
and GANSpace-style PCA directions.

Numpy only. Generation itself belongs to the Sampler (another module); here it is any callable
`generate(z: (N, latent_dim) float32, labels: (N,) int or None) -> np.ndarray with N rows`.

Conventions: a latent *vector* is shape (latent_dim,) or (1, latent_dim); a *batch* is (N, latent_dim).
Every function returns float32, and every bad input raises ValueError saying what is allowed.
"""
from __future__ import annotations

import numpy as np

from playground.text import shown

# Below this sin(angle) two directions are treated as parallel: slerp's weights would divide ~0 by ~0,
# and the straight line is the exact limit of the arc there, so lerp is the right answer, not a fudge.
_PARALLEL_SIN = 1e-6
# Randomized PCA settings: extra basis vectors and power iterations buy accuracy on the top-k components.
_OVERSAMPLE = 10
_POWER_ITERATIONS = 6


# -- sampling ----------------------------------------------------------------------------------------
def z_from_seed(seed: int, latent_dim: int, n: int = 1) -> np.ndarray:
    """(n, latent_dim) float32 standard-normal noise; the same seed always gives the same z."""
    _check_int("seed", seed, 0, 2**63 - 1)
    _check_int("latent_dim", latent_dim, 1, None)
    _check_int("n", n, 1, None)
    return np.random.default_rng(seed).standard_normal((n, latent_dim), dtype=np.float32)


def truncate(z: np.ndarray, psi: float) -> np.ndarray:
    """Truncation trick: pull z toward the prior's mean (0) by psi, i.e. return z * psi.

    We scale rather than resample |z| > threshold because scaling is a smooth dial: one slider moves
    every sample continuously from "typical" (psi=1) to "most average" (psi→0), which is what a
    playground wants to show. Resampling would make samples jump as the threshold moves.
    """
    z = _as_float_array("z", z)
    if isinstance(psi, bool) or not isinstance(psi, (int, float, np.floating)) or not 0.0 < psi <= 1.0:
        raise ValueError(f"psi must be a number in (0, 1] (1 = no truncation), got {shown(psi)}")
    return (z * np.float32(psi)).astype(np.float32)


# -- interpolation -----------------------------------------------------------------------------------
def lerp(z0: np.ndarray, z1: np.ndarray, t: float) -> np.ndarray:
    """Straight-line blend (1 - t) * z0 + t * z1, for t in [0, 1]; same shape as z0."""
    z0, z1 = _matching_pair(z0, z1)
    t = _check_t(t)
    return ((1.0 - t) * z0 + t * z1).astype(np.float32)


def slerp(z0: np.ndarray, z1: np.ndarray, t: float) -> np.ndarray:
    """Spherical blend along the great-circle arc from z0 to z1, for t in [0, 1]; same shape as z0.

    Why: Gaussian z lives near a sphere of radius sqrt(latent_dim); a straight line cuts through the
    low-norm interior (atypical z, blurry samples), while the arc keeps the norm typical.
    Nearly parallel vectors use lerp (the exact limit); opposite vectors have no unique arc, so we
    refuse rather than pick one silently.
    """
    z0, z1 = _matching_pair(z0, z1)
    t = _check_t(t)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 == 0.0 or n1 == 0.0:
        raise ValueError("slerp needs two non-zero vectors (a zero vector has no direction); use lerp instead")
    cos = float(np.clip(np.dot(z0.ravel(), z1.ravel()) / (n0 * n1), -1.0, 1.0))
    angle = np.arccos(cos)
    sin = np.sin(angle)
    if sin < _PARALLEL_SIN:
        if cos < 0:
            raise ValueError("z0 and z1 point in opposite directions, so no single arc joins them; "
                             "use lerp or pick another seed")
        return lerp(z0, z1, t)
    w0 = np.sin((1.0 - t) * angle) / sin
    w1 = np.sin(t * angle) / sin
    return (w0 * z0 + w1 * z1).astype(np.float32)


def interpolation_path(z0: np.ndarray, z1: np.ndarray, n_frames: int, mode: str = "spherical") -> np.ndarray:
    """(n_frames, latent_dim) evenly spaced points from z0 to z1 (both included), ready for generate."""
    _check_int("n_frames", n_frames, 2, None)
    blend = {"linear": lerp, "spherical": slerp}.get(mode)
    if blend is None:
        raise ValueError(f"mode must be 'linear' or 'spherical', got {shown(mode)}")
    z0, z1 = _vector("z0", z0), _vector("z1", z1)
    _matching_pair(z0, z1)
    return np.stack([blend(z0, z1, t) for t in np.linspace(0.0, 1.0, n_frames)]).astype(np.float32)


# -- sliders -----------------------------------------------------------------------------------------
def z_from_sliders(base_z: np.ndarray, slider_values, directions: np.ndarray | None = None) -> np.ndarray:
    """A new z from k slider values; same shape as base_z.

    Without directions: the first k raw latent dimensions are *set* to the slider values (the rest
    stay as in base_z). With directions (k, latent_dim): base_z + sum_i value_i * direction_i, so the
    sliders *move* along meaningful (e.g. PCA) directions and 0 everywhere gives back base_z.
    """
    base = _as_float_array("base_z", base_z)
    vector = _vector("base_z", base)
    values = _as_float_array("slider_values", slider_values)
    if values.ndim != 1:
        raise ValueError(f"slider_values must be a flat list of numbers, got shape {values.shape}")
    k, dim = values.shape[0], vector.shape[0]
    if directions is None:
        if k > dim:
            raise ValueError(f"got {k} slider values but the latent has only {dim} dimensions; use at most {dim}")
        out = vector.copy()
        out[:k] = values
    else:
        directions = _as_float_array("directions", directions)
        if directions.shape != (k, dim):
            raise ValueError(f"directions must have shape (number of sliders, latent_dim) = ({k}, {dim}), "
                             f"got {directions.shape}")
        out = vector + values @ directions
    return out.reshape(base.shape).astype(np.float32)


# -- GANSpace-style directions -----------------------------------------------------------------------
def pca_directions(generate, latent_dim: int, k: int, n_samples: int = 1000, seed: int = 0,
                   labels=None, batch_size: int = 256) -> np.ndarray:
    """(k, latent_dim) unit latent directions; see pca_directions_and_shares."""
    return pca_directions_and_shares(generate, latent_dim, k, n_samples, seed, labels, batch_size)[0]


def pca_directions_and_shares(generate, latent_dim: int, k: int, n_samples: int = 1000, seed: int = 0,
                              labels=None, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(k, latent_dim) unit latent directions that move the *output* along its top-k principal components,
    and (k,) each component's share of the output's total variance.

    GANSpace (Härkönen et al. 2020) in short: sample z, generate, run PCA on the flattened outputs, then
    regress each sample's PCA coordinate on its z (least squares); the regression weights, normalized,
    are the latent direction that best explains that component. Deterministic for a given seed.
    `labels`: None (unconditional), one class for every sample, or an (n_samples,) array.
    """
    _check_int("latent_dim", latent_dim, 1, None)
    _check_int("k", k, 1, latent_dim)
    _check_int("n_samples", n_samples, latent_dim + 1, None)
    _check_int("batch_size", batch_size, 1, None)
    z = z_from_seed(seed, latent_dim, n_samples)
    outputs = _generate_flat(generate, z, _labels_for(labels, n_samples), batch_size)
    if k > outputs.shape[1]:
        raise ValueError(f"k={k} directions asked for, but the generator's output has only "
                         f"{outputs.shape[1]} values per sample; use k <= {outputs.shape[1]}")
    coords = _top_pca_coordinates(outputs, k, seed)                # (n, k)
    total = np.sum((outputs - outputs.mean(axis=0)) ** 2)          # > 0: _top_pca_coordinates checked it
    shares = (np.sum(coords ** 2, axis=0) / total).astype(np.float32)
    z_centered = (z - z.mean(axis=0)).astype(np.float64)
    # Least squares via the normal equations: (latent_dim x latent_dim) is tiny and well-conditioned for
    # Gaussian z with n_samples > latent_dim, and it avoids LAPACK's slow threaded lstsq (see above).
    weights = np.linalg.solve(z_centered.T @ z_centered, z_centered.T @ coords)  # (latent_dim, k)
    directions = weights.T
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("the generator's output does not depend on z (a principal component has no latent "
                         "direction); train longer before exploring directions")
    directions = directions / norms
    # A direction and its negative are equally valid; fix the sign so results are comparable across runs.
    largest = directions[np.arange(k), np.abs(directions).argmax(axis=1)]
    return (directions * np.sign(largest)[:, None]).astype(np.float32), shares


def _generate_flat(generate, z, labels, batch_size) -> np.ndarray:
    """Run generate in batches (bounded memory) and return (n, features) float64 outputs."""
    chunks = []
    for start in range(0, len(z), batch_size):
        batch = z[start:start + batch_size]
        batch_labels = None if labels is None else labels[start:start + batch_size]
        out = np.asarray(generate(batch, batch_labels))
        if out.ndim < 2 or out.shape[0] != len(batch):
            raise ValueError(f"generate must return one output row per z; for {len(batch)} z "
                             f"it returned shape {out.shape}")
        chunks.append(out.reshape(out.shape[0], -1))
    outputs = np.concatenate(chunks).astype(np.float64)
    if not np.all(np.isfinite(outputs)):
        raise ValueError("generate returned NaN or inf; the generator has diverged — reset or load a checkpoint")
    return outputs


def _top_pca_coordinates(outputs: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Each sample's coordinates on the top-k principal components, shape (n, k).

    Randomized subspace iteration (Halko, Martinsson & Tropp 2011) instead of a full SVD: we need only
    k components, and on the 2-core target LAPACK's full SVD of a 1000 x 784 matrix takes 0.3-3 s while
    this (thin matmuls and tiny eigendecompositions) takes milliseconds. Generator outputs have a fast-decaying spectrum,
    so a fixed number of power iterations converges; the start block is seeded, so it is deterministic.
    """
    centered = outputs - outputs.mean(axis=0)
    if not np.any(centered):
        raise ValueError("every generated sample is identical, so the output does not depend on z; "
                         "train longer before exploring directions")
    features = centered.shape[1]
    block = min(k + _OVERSAMPLE, features)
    if block == features:            # few output values (e.g. 2D points): the exact answer is cheap
        basis = np.eye(features)
    else:
        start = np.random.default_rng([seed, 1]).standard_normal((features, block))
        basis = _orthonormal_columns(centered.T @ (centered @ start))
        for _ in range(_POWER_ITERATIONS):
            basis = _orthonormal_columns(centered.T @ (centered @ basis))
    if basis.shape[1] < k:
        raise ValueError(f"the generator's output varies along only {basis.shape[1]} directions; "
                         f"use k <= {basis.shape[1]}")
    projected = centered @ basis                                   # (n, block)
    eigenvalues, eigenvectors = np.linalg.eigh(projected.T @ projected)
    top = np.argsort(eigenvalues)[::-1][:k]
    return projected @ eigenvectors[:, top]


def _orthonormal_columns(x: np.ndarray) -> np.ndarray:
    """An orthonormal basis of x's column space, from the eigendecomposition of the small Gram matrix.

    Not np.linalg.qr: on a busy 2-core box LAPACK's threaded QR of a 784 x 20 matrix was seen to take
    0.6-300 ms; a 20 x 20 eigh is always well under 1 ms. Done twice because one pass loses accuracy
    when x is ill-conditioned (it squares the condition number); directions with ~zero variance are dropped.
    """
    for _ in range(2):
        eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x)
        keep = eigenvalues > eigenvalues[-1] * 1e-12
        x = x @ (eigenvectors[:, keep] / np.sqrt(eigenvalues[keep]))
    return x


def _labels_for(labels, n):
    if labels is None:
        return None
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        return np.full(n, labels, dtype=np.int32)
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be None, one class number, or {n} class numbers (one per sample), "
                         f"got shape {labels.shape} dtype {labels.dtype}")
    return labels.astype(np.int32)


# -- validation helpers ------------------------------------------------------------------------------
def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {shown(value)}")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {allowed}, got {value}")


def _check_t(t) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)) or not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be a number in [0, 1] (0 gives z0, 1 gives z1), got {shown(t)}")
    return float(t)


def _as_float_array(name, value) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers, got {type(value).__name__}: {exc}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf; pass finite numbers")
    return array


def _vector(name, value) -> np.ndarray:
    """Accept (dim,) or (1, dim) and return the flat (dim,) vector."""
    array = _as_float_array(name, value)
    if array.ndim == 1 and array.size > 0:
        return array
    if array.ndim == 2 and array.shape[0] == 1 and array.shape[1] > 0:
        return array[0]
    raise ValueError(f"{name} must be one latent vector, shape (latent_dim,) or (1, latent_dim); got {array.shape}")


def _matching_pair(z0, z1):
    z0, z1 = _as_float_array("z0", z0), _as_float_array("z1", z1)
    if z0.shape != z1.shape or z0.size == 0:
        raise ValueError(f"z0 and z1 must have the same non-empty shape, got {z0.shape} and {z1.shape}")
    return z0, z1
