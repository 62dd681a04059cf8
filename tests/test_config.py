import pytest

from playground.engine.config import ConfigError, TrainConfig, default_config


def test_json_round_trip_keeps_every_field():
    config = default_config("ring", seed=7, loss="hinge", ema=0.99)
    assert TrainConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("field, value, words", [
    ("batch_size", 0, "batch_size must be between 2 and 1024"),
    ("lr_g", 5.0, "lr_g must be between"),
    ("lr_d", float("nan"), "lr_d must be between"),
    ("latent_dim", 2.5, "latent_dim must be a whole number"),
    ("d_steps", "3", "d_steps must be a number"),
    ("loss", "wasserstein", "loss must be one of"),
    ("channels", 2, "channels must be one of"),
    ("image_size", 30, "image_size must be a multiple of 4"),
    ("dataset", "no/such/dir", "neither a known name"),
    ("augment", "yes", "augment must be true or false"),
    ("spectral_norm", 1, "spectral_norm must be true or false"),
    ("max_images", -1, "max_images must be between 0 and 1000000"),
    ("max_images", 12.5, "max_images must be a whole number"),
])
def test_bad_values_name_the_field_and_range(field, value, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**{field: value}).validate()


def test_model_must_fit_the_data_family():
    with pytest.raises(ConfigError, match="2D dataset"):
        TrainConfig(dataset="ring", model="dcgan").validate()
    with pytest.raises(ConfigError, match="is for 2D data"):
        TrainConfig(dataset="digits", model="mlp").validate()


def test_max_images_is_for_images_and_an_old_config_without_it_trains_on_all():
    assert default_config("digits", max_images=100).max_images == 100
    with pytest.raises(ConfigError, match="max_images is for image datasets; 2D dataset 'ring'"):
        default_config("ring", max_images=100)
    old = default_config("digits").to_json().replace('"max_images": 0,', "")
    assert "max_images" not in old and TrainConfig.from_json(old) == default_config("digits")


def test_from_json_rejects_unknown_fields():
    with pytest.raises(ConfigError, match="unknown fields"):
        TrainConfig.from_json('{"dataset": "ring", "colour": "red"}')


def test_defaults_differ_by_family_and_resolve_architecture():
    toy, image = default_config("ring"), default_config("digits")
    assert toy.architecture == "mlp" and image.architecture == "dcgan"
    assert toy.is_toy and not image.is_toy


def test_a_dataset_can_change_its_familys_recipe_and_overrides_still_win():
    # The ring's LSGAN loss and clusters, and the grid's R1 penalty and longer EMA, are their own (README "Default
    # recipes").
    assert default_config("ring").loss == "lsgan"
    assert default_config("ring").clusters > 0
    assert default_config("grid").clusters == default_config("moons").clusters == 0
    assert default_config("grid").loss == "standard"
    assert default_config("grid").r1_gamma > 0 and default_config("grid").ema > default_config("ring").ema
    assert default_config("ring").r1_gamma == default_config("moons").r1_gamma == 0.0
    assert default_config("ring").width == default_config("grid").width
    assert default_config("ring", loss="hinge").loss == "hinge"
    assert default_config("grid", r1_gamma=0.0).r1_gamma == 0.0
