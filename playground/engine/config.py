"""One frozen dataclass describes a run; it is saved inside every checkpoint (config.json).

Defaults are per data family (2D toys vs images): `default_config(dataset)` picks them, so a bare
`--dataset digits` or one click on Train does the right thing. A TrainConfig is checked once, when it is made
(`validate()` names the field and the allowed range), so one that exists is valid and nobody checks it again.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

from playground.text import shown

TOY_DATASETS = ("ring", "grid", "spiral", "moons", "points")
IMAGE_DATASETS = ("digits", "mnist", "fashion", "shapes")
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
    # Train on a fixed, seeded subset of this many images (class-balanced when labelled); 0: all. Images only.
    max_images: int = 0
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

    def __post_init__(self):
        self.validate()

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
        """A copy with `changes`, checked like any new config."""
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
        return cls(**raw)

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
        if self.is_toy and self.max_images:
            raise ConfigError(f"max_images is for image datasets; 2D dataset {shown(self.dataset)} trains on a pool of "
                              "points, so set max_images to 0 (for few points, draw or type them with 'my points')")
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
    "max_images": (0, 1_000_000),
}
INTEGER_FIELDS = {"width", "latent_dim", "batch_size", "d_steps", "image_size", "seed", "clusters", "d_features",
                  "max_images"}


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {list(allowed)}, got {shown(value)}")


def _check_dataset(dataset):
    if not isinstance(dataset, str) or not dataset:
        raise ConfigError(f"dataset must be a name ({', '.join(TOY_DATASETS[:-1] + IMAGE_DATASETS)}) or a path")
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
    """The tuned recipe for a dataset's family, with any overrides applied (checked, as every config is)."""
    base = TOY_DEFAULTS if dataset in TOY_DATASETS else IMAGE_DEFAULTS
    return TrainConfig(**{**base, **DATASET_DEFAULTS.get(dataset, {}), "dataset": dataset, **overrides})


# Recipes tuned for quality per wall-clock second on 2 CPU cores; why each value, measured: docs/recipes.md.
# Toys: a small MLP and big batches for many steps a second, and an EMA generator to keep samples on the modes.
TOY_DEFAULTS = dict(model="auto", width=64, latent_dim=2, batch_size=256, lr_g=2e-3, lr_d=2e-3, beta1=0.5, ema=0.99)
# One dataset's changes to its family's recipe: the ring's LSGAN loss and 16 clusters stop bridges between its
# modes; the grid's R1 penalty and longer EMA stop it dropping modes late (docs/recipes.md).
DATASET_DEFAULTS = {"ring": dict(loss="lsgan", clusters=16), "grid": dict(r1_gamma=0.03, ema=0.999),
                    "shapes": dict(image_size=32, channels=3)}
# Images: each choice measured better per wall-clock second on digits; unconditional runs self-condition on 10
# k-means clusters (Liu et al. 2020); width 24 / batch 64 for images/s on faster CPUs (docs/recipes.md).
IMAGE_DEFAULTS = dict(model="auto", width=24, latent_dim=64, batch_size=64, lr_g=2e-3, lr_d=2e-3, beta1=0.0,
                      loss="hinge", ema=0.999, clusters=10, d_features=32, r1_gamma=0.1)

# The TF DCGAN tutorial recipe, kept for the side-by-side benchmark.
# Everything our image recipe adds is switched off: the tutorial trains with the standard (cross-entropy) loss and
# samples from its generator itself.
TUTORIAL_RECIPE = dict(model="tutorial", latent_dim=100, batch_size=256, lr_g=1e-4, lr_d=1e-4, beta1=0.9,
                       conditional=False, clusters=0, loss="standard", ema=0.0, r1_gamma=0.0)
