"""The model card: JSON round trip and refusal of unknown, missing or invalid fields."""

import dataclasses
import json

import pytest

from laetitia.errors import ConfigError
from laetitia.fer import ModelCard, read_card


@pytest.fixture(scope="module")
def card() -> ModelCard:
    return read_card()


def test_json_round_trip_is_exact(card):
    text = card.to_json()
    again = ModelCard.from_json(text)
    assert again == card and hash(again) == hash(card)
    assert isinstance(again.class_names, tuple) and isinstance(again.mean, tuple)
    assert json.loads(text)["class_names"] == list(card.class_names)


def test_unknown_and_missing_keys_are_errors(card):
    data = json.loads(card.to_json())
    with pytest.raises(ConfigError, match="card.json: unknown key\\(s\\) 'input_szie'"):
        ModelCard.from_dict({**data, "input_szie": 48}, source="card.json")
    with pytest.raises(ConfigError, match="'input_size' should be int, found '64'"):
        ModelCard.from_dict({**data, "input_size": "64"})
    del data["crop"]
    with pytest.raises(ConfigError, match="card.json: the key 'crop' of ModelCard is missing"):
        ModelCard.from_dict(data, source="card.json")
    with pytest.raises(ConfigError, match="JSON"):
        ModelCard.from_json("{not json")
    with pytest.raises(ConfigError, match="expected an object"):
        ModelCard.from_json("[1, 2]")


@pytest.mark.parametrize(
    "change",
    [
        {"input_size": 4},
        {"input_size": 100_000},
        {"class_names": ()},
        {"mean": (0.5, 0.5, 0.5)},
        {"std": (0.0,)},
    ],
)
def test_invalid_values_are_errors(card, change):
    with pytest.raises(ConfigError, match="invalid model card"):
        dataclasses.replace(card, **change)


@pytest.mark.parametrize(
    ("change", "key"), [({"input_size": "64"}, "input_size"), ({"grayscale": "yes"}, "grayscale")]
)
def test_a_card_of_the_wrong_types_is_refused_naming_the_key(card, change, key):
    with pytest.raises(ConfigError, match=f"'{key}' should be"):
        ModelCard.from_dict({**card.to_dict(), **change})


def test_card_is_frozen(card):
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.input_size = 48
