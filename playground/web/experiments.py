"""One-click experiments that teach: each sets the Train tab's settings and says what to watch. No Gradio."""
from __future__ import annotations

from dataclasses import dataclass, field

from playground.engine.config import TrainConfig, default_config


@dataclass(frozen=True)
class Experiment:
    label: str
    dataset: str
    watch: str                                  # one line: what to look at while it trains
    changes: dict = field(default_factory=dict)  # on top of the dataset's recipe

    def config(self) -> TrainConfig:
        return default_config(self.dataset, **self.changes)


EXPERIMENTS = {
    "collapse": Experiment(
        "Mode collapse", "grid",
        "A plain GAN (no R1 penalty, no EMA) on 25 clusters: watch the purple samples crowd onto a few green "
        "clusters and 'Modes covered' stay low. Then try the grid's own recipe (pick 'grid' again) for comparison.",
        dict(loss="standard", r1_gamma=0.0, ema=0.0, clusters=0)),
    "losses": Experiment(
        "Compare losses", "ring",
        "WGAN-GP on the ring: D's loss is a distance estimate, so it goes negative and shrinks toward 0 as G "
        "improves. Stop, switch the loss to 'standard' and Train again: its D loss hovers near 1.4 (ln 4) instead.",
        dict(loss="wgan-gp", clusters=0)),
    "conditional": Experiment(
        "Conditional digits", "digits",
        "G and D are told which digit to make: each column of the sample grid becomes one digit 0-9. Then set "
        "'conditional' to off (Advanced) and Train again: digits appear in no order.",
        dict(conditional=True, clusters=0)),
    "unconditional": Experiment(
        "Unconditional digits", "digits",
        "No labels at all (no clusters either): watch the grid mix every digit, and 'Digit classes' show whether "
        "all ten appear, or whether G settles on a few (a milder mode collapse).",
        dict(conditional=False, clusters=0)),
    "few": Experiment(
        "Few images", "digits",
        "Only 100 digits (10 of each), no augmentation: D learns them by heart, so its loss sinks and D(real) pulls "
        "away from D(fake); G answers by copying, and each column of the sample grid fills with one training digit "
        "drawn over and over; FCD stays high. Then try 'Few images + augmentation'.",
        dict(max_images=100, augment=False)),
    "few-augment": Experiment(
        "Few images + augmentation", "digits",
        "The same 100 digits, but D sees every image, real and fake, shifted by a few pixels, so it cannot learn "
        "them by heart: its loss stays as high as on all 5,000 digits, the samples vary within each column "
        "(a little rougher) instead of copying, and FCD ends several times lower than without augmentation.",
        dict(max_images=100, augment=True)),
}


def experiment(key: str) -> Experiment:
    if key not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {key!r}; pick one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[key]
