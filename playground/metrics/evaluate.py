"""Glue between a generator (a Sampler) and the metrics: what the trainer shows live and what `eval` prints."""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from playground.data import datasets, shapes
from playground.metrics import quality as metrics
from playground.metrics.divergence import js_divergence

DIGIT_DATASETS = ("digits", "mnist")   # the classifier knows digits; its FCD means nothing for other images
LIVE_SAMPLES = 1000


def generate(sampler, n: int, seed: int, label_shares=None):
    """n samples from seeded noise; conditional generators get classes in equal shares, or drawn with the given
    shares (a self-conditioned run's clusters are as uneven as the data made them)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, sampler.latent_dim)).astype(np.float32)
    labels = None
    if sampler.num_classes:
        labels = (np.arange(n) % sampler.num_classes if label_shares is None
                  else rng.choice(sampler.num_classes, n, p=label_shares)).astype(np.int32)
    return sampler.generate(z, labels), labels


def quality(sampler, dataset: datasets.Dataset, n: int = LIVE_SAMPLES, seed: int = 1234) -> tuple[dict, np.ndarray]:
    """The metrics that apply to this data, and the samples they were computed on."""
    shares = datasets.label_shares(dataset) if dataset.pseudo_labels and sampler.num_classes else None
    samples, labels = generate(sampler, n, seed, shares)
    if dataset.kind == "toy":
        values = {} if dataset.modes is None else metrics.toy_metrics(samples, dataset.modes, dataset.mode_sd)
        real = datasets.real_sample(dataset, n, seed=7)
        return {**values, "js_divergence": js_divergence(real, samples)}, samples
    if dataset.name in DIGIT_DATASETS and samples.shape[1:] == metrics.IMAGE_SHAPE:
        # Cluster numbers are not digit classes: no label accuracy for a self-conditioned run.
        return metrics.image_metrics(samples, None if dataset.pseudo_labels else labels), samples
    if dataset.name == "shapes" and samples.shape[-1] == 3:
        return shapes.shape_metrics(samples, None if dataset.pseudo_labels else labels), samples
    return {}, samples


def live_metrics(sampler, dataset: datasets.Dataset, n: int = LIVE_SAMPLES):
    """(metrics, collapse warning or None) for the trainer's snapshot."""
    values, samples = quality(sampler, dataset, n)
    real = datasets.real_sample(dataset, min(n, 512), seed=7)
    warning = metrics.collapse_warning(samples[:512], real, values)
    return values, warning


# One metrics thread for the whole process: training never waits for metrics and sessions cannot pile them up;
# their CPU still comes out of training, hence trainer.METRICS_SECONDS (measured: docs/performance.md).
_METRICS_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gan-metrics")
# A 2D toy's metrics are histograms of 1,000 points (milliseconds), so they come every second and the table keeps
# up with the plot; images' run a classifier, so they keep the trainer's longer interval.
TOY_METRICS_SECONDS = 1.0


class LiveMetrics:
    """The trainer's live metrics, computed beside training instead of inside it.

    Evaluating 1,000 digits (generate + classifier + FCD, ~0.3 s) in the training thread every 5 s cost ~7% of
    steps/s. The sampler is a thread-safe copy of the generator's weights, so it can be evaluated while training
    goes on; the result arrives at a later publish, labelled with the step it was computed for.
    """

    def __init__(self, interval: float):
        self.interval = interval
        self._pending: Future | None = None
        self._last_start, self._last_step = -np.inf, None

    def poll(self, sampler, dataset: datasets.Dataset, step: int, wait: bool) -> tuple | None:
        """(metrics, collapse warning or None, step) when an evaluation finished since the last poll, else None.
        Starts the next evaluation when one is due. wait=True (paused, stepping) returns numbers of this step now,
        however recently the last evaluation started: a paused run must not show the metrics of an older step."""
        result = None
        if self._pending is not None and (wait or self._pending.done()):
            finished, self._pending = self._pending, None
            result = finished.result()     # re-raises a failed evaluation: the trainer shows it
        now = time.perf_counter()
        stale = wait and step != self._last_step
        interval = min(self.interval, TOY_METRICS_SECONDS) if dataset.kind == "toy" else self.interval
        if self._pending is None and (stale or now - self._last_start >= interval):
            self._last_start, self._last_step = now, step
            future = _METRICS_THREAD.submit(_live_result, sampler, dataset, step)
            if wait:
                result = future.result()
            else:
                self._pending = future
        return result


def _live_result(sampler, dataset, step):
    return (*live_metrics(sampler, dataset), step)


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
