"""One frozen dataclass describes a run; it is saved inside every checkpoint (config.json).

Defaults are per data family (2D toys vs images): `default_config(dataset)` picks them, so a bare
`--dataset digits` or one click on Train does the right thing. Every value a user can set is checked
by `validate()`, which names the field and the allowed range.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

from playground.text import shown

TOY_DATASETS = ("ring", "grid", "spiral", "moons", "points")
IMAGE_DATASETS = ("digits", "mnist", "fashion")
LOSSES = ("standard", "lsgan", "wgan-gp", "hinge")
MODELS = ("auto", "mlp", "dcgan", "tutorial")


class ConfigError(ValueError):
    """A setting is out of range or unknown; the message says which and what is allowed."""


class OutsideDatasetError(ConfigError):
    """A run from outside names a dataset that is not built in (check_outside_dataset)."""


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "digits"
    model: str = "auto"          # auto: MLP for 2D data, DCGAN for images; tutorial: the TF DCGAN tutorial nets
    width: int = 32              # base channels (DCGAN) or hidden units (MLP)
    loss: str = "standard"
    latent_dim: int = 64
    batch_size: int = 32
    lr_g: float = 5e-4
    lr_d: float = 5e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1             # discriminator updates per generator update
    gp_weight: float = 10.0      # WGAN-GP gradient-penalty weight
    # R1 penalty weight (gamma) on D's gradient at real data (Mescheder et al. 2018); 0 off. Its default is 0 so
    # that a config.json saved before the field existed loads as the run it was (images default to 0.1).
    r1_gamma: float = 0.0
    ema: float = 0.0             # longest EMA decay of the sampling generator (its horizon ramps up, engine/gan.py); 0 off
    augment: bool = False        # DiffAugment-style translation of real and fake images before D
    spectral_norm: bool = False  # spectral normalization of D's layers (Miyato et al. 2018)
    conditional: bool | None = None  # None: conditional when the data has labels
    clusters: int = 0            # unconditional images: k-means pseudo-classes that G and D condition on; 0 off
    # Units of a dense feature layer in a conditional image D, before its projection head; 0: none (checkpoints
    # saved before it existed load as 0, the architecture they were trained with). An unconditional D always
    # has one of width * 4 units.
    d_features: int = 0
    image_size: int = 28         # uploads are resized to this
    channels: int = 1            # 1 grey, 3 RGB (uploads)
    seed: int = 0

    # -- derived facts -------------------------------------------------------------------------
    @property
    def is_toy(self) -> bool:
        return self.dataset in TOY_DATASETS

    @property
    def architecture(self) -> str:
        if self.model != "auto":
            return self.model
        return "mlp" if self.is_toy else "dcgan"

    def label_kind(self, num_classes: int) -> str:
        """What a resolved run's labels are: "cluster" when an unconditional run conditions on k-means clusters
        (self-conditioning), else "class"."""
        return "cluster" if num_classes and not self.conditional else "class"

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    # -- JSON ------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, from_outside: bool = False) -> "TrainConfig":
        """The config in `text`, validated. `from_outside`: it came with an uploaded run (see check_outside_dataset)."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ConfigError(f"config.json must hold one JSON object of settings, not a {type(raw).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"config.json has unknown fields {shown(unknown)}; known fields: {sorted(known)}")
        if from_outside:
            check_outside_dataset(raw.get("dataset", cls.dataset))
        return cls(**raw).validate()

    # -- checks ----------------------------------------------------------------------------------
    def validate(self) -> "TrainConfig":
        """Return self if every field is in range, else raise ConfigError naming the field."""
        for name, (low, high) in NUMERIC_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name} must be a number between {low} and {high}, got {shown(value)}")
            if not low <= value <= high or value != value:  # value != value catches NaN; infinities are out of range
                raise ConfigError(f"{name} must be between {low} and {high}, got {shown(value)}")
            if name in INTEGER_FIELDS and int(value) != value:
                raise ConfigError(f"{name} must be a whole number between {low} and {high}, got {shown(value)}")
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("model", self.model, MODELS)
        _check_choice("channels", self.channels, (1, 3))
        for name in ("augment", "spectral_norm"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {shown(getattr(self, name))}")
        if self.conditional not in (None, True, False):
            raise ConfigError(f"conditional must be true, false or null (auto), got {shown(self.conditional)}")
        if self.image_size % 4:
            raise ConfigError(f"image_size must be a multiple of 4 (the generator upsamples twice), got {self.image_size}")
        _check_dataset(self.dataset)
        if self.is_toy and self.architecture != "mlp":
            raise ConfigError(f"model {self.model!r} is for images; 2D dataset {shown(self.dataset)} needs 'mlp' or 'auto'")
        if not self.is_toy and self.architecture == "mlp":
            raise ConfigError(f"model 'mlp' is for 2D data; image dataset {shown(self.dataset)} needs 'dcgan' or 'auto'")
        return self


NUMERIC_RANGES = {
    "width": (4, 256),
    "latent_dim": (1, 512),
    "batch_size": (2, 1024),
    "lr_g": (1e-6, 1.0),
    "lr_d": (1e-6, 1.0),
    "beta1": (0.0, 0.999),
    "beta2": (0.0, 0.9999),
    "d_steps": (1, 10),
    "gp_weight": (0.0, 100.0),
    "r1_gamma": (0.0, 100.0),
    "ema": (0.0, 0.9999),
    "image_size": (8, 64),
    "seed": (0, 2**31 - 1),
    "clusters": (0, 100),
    "d_features": (0, 1024),
}
INTEGER_FIELDS = {"width", "latent_dim", "batch_size", "d_steps", "image_size", "seed", "clusters", "d_features"}


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {list(allowed)}, got {shown(value)}")


def _check_dataset(dataset):
    if not isinstance(dataset, str) or not dataset:
        raise ConfigError("dataset must be a name (ring, grid, spiral, moons, digits, mnist, fashion) or a path")
    if dataset in TOY_DATASETS or dataset in IMAGE_DATASETS:
        return
    if not os.path.exists(dataset):
        raise ConfigError(
            f"dataset {shown(dataset)} is neither a known name ({', '.join(TOY_DATASETS + IMAGE_DATASETS)}) "
            "nor an existing path to a .zip, .npz or folder of images"
        )


BUILT_IN_DATASETS = TOY_DATASETS + IMAGE_DATASETS


def check_outside_dataset(dataset) -> None:
    """A run that arrives from outside (an uploaded run zip) may name only a built-in dataset ("points" brings its
    own points.npy): a path in it would point the server at its own disk. The message says nothing about that disk."""
    if dataset not in BUILT_IN_DATASETS:
        raise OutsideDatasetError(f"this run was trained on data that is not built in (an uploaded file or folder); an "
                          f"uploaded run can only use {', '.join(BUILT_IN_DATASETS)} or its own points. Load it with "
                          "the command line on the computer that has its data")


def default_config(dataset: str = "digits", **overrides) -> TrainConfig:
    """The tuned recipe for a dataset's family, with any overrides applied and validated."""
    base = TOY_DEFAULTS if dataset in TOY_DATASETS else IMAGE_DEFAULTS
    return TrainConfig(**{**base, **DATASET_DEFAULTS.get(dataset, {}), "dataset": dataset, **overrides}).validate()


# Recipes measured for quality per wall-clock second on 2 CPU cores (see README "Default recipes").
# Toys: width 64 runs ~2.5x the steps/s of width 128, and an EMA generator (decay 0.99, reached after ~1,000 of
# the ring's 5,000-9,000 steps in 10 s as its horizon ramps up) keeps the samples tight on the modes. Measured
# over seeds 0-5 (README "Default recipes"), before the ramp: ring at 10 s 8/8 modes in 5 of 6 runs, 95.6-97.8%
# high quality (the old width 128 without EMA: 3/8-7/8, 42-70% in three runs); grid at 60 s 24-25/25 and 95-96%
# in 3 of 3 (batch 128: 22-25/25, 89-94%). The 2D view still draws the raw generator (engine.Run.toy_view), so
# Step moves it visibly.
TOY_DEFAULTS = dict(model="auto", width=64, latent_dim=2, batch_size=256, lr_g=2e-3, lr_d=2e-3, beta1=0.5, ema=0.99)
# One dataset's changes to its family's recipe, each measured on its own. Ring: the LSGAN loss. At 10 s over seeds
# 0-11, 8/8 modes in 12 of 12 runs (and at 5 s) and >= 97% high quality in 9 of 12, against 9 and 4 of 12 with the
# standard loss; it holds to 60 s (seeds 0-2: 97.6-99.2%). On the grid it dropped modes late (60 s, seeds 0-2: 25,
# 21, 22 of 25), so only the ring has it. And the ring trains self-conditioned on 16 k-means clusters of its points
# (Liu et al. 2020, as unconditional images do; each cluster sits on one mode): a plain generator with a 2-d latent
# has to stretch between modes and left 1-3% of its samples on bridges (10 s, seeds 0-5: 95.6-99.1% high quality);
# with the clusters it has nothing to bridge (seeds 0-11: 99.9-100.0% at 10 s, 97.8-100% at 5 s). The grid got worse
# with 16 clusters of its 25 modes (60 s, seed 0: 22/25, 86.9%) and stays plain.
# Grid: an R1 penalty of 0.03 and EMA 0.999. Without R1 the grid dropped modes late in hours fast enough for 40-58k
# steps a minute (60 s, seeds 0-5: 25, 23, 23, 25, 25, 25 of 25); with it 25/25 in 6 of 6 and still at 120 s (seed 1,
# ~70k steps), but R1 spreads the samples a little (92.7-95.7% high quality; the bench 24/25 at 89.9%); the longer
# EMA tightens them again: 25/25 in 6 of 6 at 30 s and 60 s, 93.8-97.0%. A learning rate of 1e-3 instead held 60 s
# but dropped modes by 120 s (24/25, 85.8%). README "Default recipes".
DATASET_DEFAULTS = {"ring": dict(loss="lsgan", clusters=16), "grid": dict(r1_gamma=0.03, ema=0.999)}
# Images: hinge loss, an EMA generator and Adam beta1 0 were each measured better per wall-clock second on
# digits (beta1 0.5 -> 0: 15 s confident share 86-90% -> 91-93% over 3 seeds, 60 s FCD 4.5-5.1 -> 3.9-4.3); the
# numbers are in README "Default recipes".
# Unconditional images train as a self-conditioned GAN (Liu et al. 2020): 10 k-means clusters of the images stand
# in for labels. Unconditional digits at 60 s, seeds 0 and 1: FCD 12.5 / 82% and 10.5 / 80% confident, against
# 21.5 / 65% without; with the D feature layer below, seed 0: 9.1 / 89% (README "Default recipes").
# A dense feature layer of 32 units in the conditional D: digits at 60 s over seeds 0-3, FCD 3.2-4.3 and
# 96.4-97.4% confident, against 4.1-4.9 and 94-96% without. The EMA's horizon ramps up (gan.EMA_RAMPUP) to at
# most 1,000 steps (0.999): at 60 s (~3,000 steps) it averages ~300 (README "Default recipes").
# An R1 penalty of 0.1 on D (gan.R1_BATCH reals per step): without it the 5,000 digits' FCD was lowest near 30 s
# and rose again as D sharpened around the training images (seed 0: 4.18 at 30 s, 4.27 at 60 s and 3,237 steps;
# near variants on seeds 0-3 read 4.2-4.7 at 60 s); with it and the EMA ramp over 10% of the steps (gan.py),
# FCD keeps falling: 3.0-3.3 at 60 s, 97.1-98.3% confident (README "Default recipes").
# Width 24 and batch 64 (2026-11-28): on a faster CPU, where the TF tutorial recipe ran 3.4x the images/s it had
# before and width 32 / batch 32 only 1.8x, the old recipe fell to 6.2x the tutorial's images/s. Digits at 60 s,
# seeds 0-3, same hour: FCD 2.84-3.15, 97.4-98.3% confident at ~5,100-5,300 images/s (15 s: 2.98-3.81, 93.6-96.4%),
# against width 32 / batch 32: 2.95-3.90, 98.1-98.8% at ~3,600 (15 s: 3.36-3.56, 95.9-96.8%). Batch 48 (seeds 0,
# 1: 3.24 / 98.0%, 3.01 / 97.9%, ~5,100 images/s) and width 24 alone (4.04 / 98.5%, 3.50 / 98.8%, ~4,300) were in
# between (README "Default recipes").
IMAGE_DEFAULTS = dict(model="auto", width=24, latent_dim=64, batch_size=64, lr_g=2e-3, lr_d=2e-3, beta1=0.0,
                      loss="hinge", ema=0.999, clusters=10, d_features=32, r1_gamma=0.1)

# The TF DCGAN tutorial recipe, kept for the side-by-side benchmark.
# Everything our image recipe adds is switched off: the tutorial trains with the standard (cross-entropy) loss and
# samples from its generator itself.
TUTORIAL_RECIPE = dict(model="tutorial", latent_dim=100, batch_size=256, lr_g=1e-4, lr_d=1e-4, beta1=0.9,
                       conditional=False, clusters=0, loss="standard", ema=0.0, r1_gamma=0.0)
