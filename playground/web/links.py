"""Shareable links: the Train tab's settings as URL query parameters named like the CLI's flags
(`?dataset=grid&loss=hinge&lr-g=0.001`), and back. No Gradio; every value from a URL is checked before use.
"""
from __future__ import annotations

from urllib.parse import urlencode

from playground.engine.config import IMAGE_DATASETS, TOY_DATASETS, ConfigError, TrainConfig, default_config
from playground.web.experiments import EXPERIMENTS

MAX_PARAMETERS = 32            # a longer query is not a link this page made
# Query parameter (the CLI flag's name) → config field, in the order a link lists them.
PARAMETERS = {"loss": "loss", "width": "width", "latent-dim": "latent_dim", "batch-size": "batch_size",
              "lr-g": "lr_g", "lr-d": "lr_d", "d-steps": "d_steps", "seed": "seed", "ema": "ema",
              "r1-gamma": "r1_gamma", "augment": "augment", "conditional": "conditional", "clusters": "clusters",
              "max-images": "max_images"}
# Named datasets only: a link never carries a path or data (drawn points stay on the page that drew them).
LINKABLE_DATASETS = tuple(name for name in TOY_DATASETS + IMAGE_DATASETS if name != "points")
GRADIO_PARAMETERS = ("__theme", "view", "lang")      # Gradio's own page parameters, not settings
_TRUE, _FALSE = ("true", "on", "1", "yes"), ("false", "off", "0", "no")


def config_from_query(query: dict) -> tuple[TrainConfig | None, list[str]]:
    """(config, problems) from a link's parameters; None when the link sets nothing. Each bad parameter is left
    at its default and named in `problems`, so the rest of the link still applies."""
    query = {str(k): str(v) for k, v in list(query.items())[:MAX_PARAMETERS] if k not in GRADIO_PARAMETERS}
    if not query:
        return None, []
    problems = []
    key = query.pop("experiment", None)           # a preset's link: its settings, then the other parameters
    chosen = EXPERIMENTS.get(key) if key is not None else None
    if key is not None and chosen is None:
        problems.append(f"link parameter experiment={key[:40]!r} is not one of {', '.join(EXPERIMENTS)}")
    dataset = query.pop("dataset", chosen.dataset if chosen else "ring")
    if dataset not in LINKABLE_DATASETS:
        problems.append(f"link parameter dataset={dataset[:40]!r} is not one of {', '.join(LINKABLE_DATASETS)}; "
                        "showing ring")
        dataset = "ring"
    config = chosen.config() if chosen and chosen.dataset == dataset else default_config(dataset)
    for name, text in query.items():
        field = PARAMETERS.get(name)
        if field is None:
            problems.append(f"unknown link parameter {name[:40]!r}; a link can set dataset, {', '.join(PARAMETERS)}")
            continue
        try:
            config = config.replace(**{field: _parse(field, text, getattr(config, field))})   # checked as it is made
        except (ConfigError, ValueError) as exc:
            problems.append(f"link parameter {name}={text[:40]!r} was ignored: {exc}")
    return config, problems


def query_from_config(config: TrainConfig) -> str:
    """'?dataset=…' and every setting that differs from the dataset's defaults, named like the CLI's flags."""
    if config.dataset not in LINKABLE_DATASETS:
        raise ValueError("a link can only name a built-in dataset; drawn points and uploads stay on this page")
    defaults = default_config(config.dataset)
    pairs = [("dataset", config.dataset)] + [(name, _text(getattr(config, field)))
                                             for name, field in PARAMETERS.items()
                                             if getattr(config, field) != getattr(defaults, field)]
    return "?" + urlencode(pairs)


def _parse(field: str, text: str, current):
    if field == "conditional":
        choices = {"auto": None, "on": True, "true": True, "off": False, "false": False}
        if text.lower() not in choices:
            raise ValueError("conditional must be auto, on or off")
        return choices[text.lower()]
    if isinstance(current, bool):
        if text.lower() not in _TRUE + _FALSE:
            raise ValueError(f"{field} must be true or false")
        return text.lower() in _TRUE
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{field} must be a whole number") from None
    if isinstance(current, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{field} must be a number") from None
    return text


def _text(value) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)
