"""Glue between a generator (a Sampler) and the metrics: what the trainer shows live and what `eval` prints."""
from __future__ import annotations

import numpy as np

from playground import data as datasets
from playground import metrics

DIGIT_DATASETS = ("digits", "mnist")   # the classifier knows digits; its FCD means nothing for other images
LIVE_SAMPLES = 1000


def generate(sampler, n: int, seed: int):
    """n samples from seeded noise; conditional generators get classes in equal shares."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, sampler.latent_dim)).astype(np.float32)
    labels = (np.arange(n) % sampler.num_classes).astype(np.int32) if sampler.num_classes else None
    return sampler.generate(z, labels), labels


def quality(sampler, dataset: datasets.Dataset, n: int = LIVE_SAMPLES, seed: int = 1234) -> tuple[dict, np.ndarray]:
    """The metrics that apply to this data, and the samples they were computed on."""
    samples, labels = generate(sampler, n, seed)
    if dataset.kind == "toy":
        if dataset.modes is None:
            return {}, samples
        return metrics.toy_metrics(samples, dataset.modes, dataset.mode_sd), samples
    if dataset.name in DIGIT_DATASETS and samples.shape[1:] == metrics.IMAGE_SHAPE:
        return metrics.image_metrics(samples, labels), samples
    return {}, samples


def live_metrics(sampler, dataset: datasets.Dataset, n: int = LIVE_SAMPLES):
    """(metrics, collapse warning or None) for the trainer's snapshot."""
    values, samples = quality(sampler, dataset, n)
    real = datasets.real_sample(dataset, min(n, 512), seed=7)
    warning = metrics.collapse_warning(samples[:512], real, values)
    return values, warning


def full_report(sampler, dataset: datasets.Dataset, n: int = 2000) -> dict:
    """Everything `python -m playground eval` prints: quality, collapse check and memorization."""
    values, samples = quality(sampler, dataset, n)
    real = datasets.real_sample(dataset, min(n, 2000), seed=7)
    report = {"samples": n, **values}
    report["collapse_warning"] = metrics.collapse_warning(samples[:512], real[:512], values)
    if dataset.kind == "image":
        train = dataset.x if len(dataset.x) <= 5000 else dataset.x[:5000]
        report["memorization"] = metrics.memorization(samples, train)
    return report
