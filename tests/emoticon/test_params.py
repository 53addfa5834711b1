import math

import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import ParameterError

ORIGINAL = [
    ("r", 0.0, 1.1, 0.5),
    ("t", 0.0, math.pi, 0.8),
    ("s", 0.0, 0.5, 0.1),
    ("a", -1.0, 1.0, 0.0),
    ("b", -1.2, 1.2, 0.6),
    ("c", -2.0, 2.0, 0.0),
    ("ey", 0.05, 0.3, 0.16),
    ("er", -1.0, 1.0, 0.0),
]


def test_the_first_eight_parameters_are_the_original_emoticons():
    found = [(p.name, p.low, p.high, p.default) for p in PARAM_SPACE.params[:8]]
    assert found == ORIGINAL
    assert all(p.meaning for p in PARAM_SPACE.params)


def test_normalise_maps_bounds_to_unit_interval_and_back():
    space = PARAM_SPACE
    np.testing.assert_allclose(space.normalize(space.low), -1.0)
    np.testing.assert_allclose(space.normalize(space.high), 1.0)
    x = space.defaults
    np.testing.assert_allclose(space.denormalize(space.normalize(x)), x)


@pytest.mark.parametrize("values", [[0.5] * 7, [0.5] * 9, [[0.5] * 8]])
def test_wrong_length_is_a_clear_error(values):
    with pytest.raises(ParameterError, match="expected 8 emoticon parameters"):
        PARAM_SPACE.validate(values)


def test_non_finite_values_are_refused_by_name():
    values = PARAM_SPACE.defaults.copy()
    values[4] = np.nan
    with pytest.raises(ParameterError, match=r"\['b'\]"):
        PARAM_SPACE.validate(values)


def test_clip_keeps_values_in_bounds():
    clipped = PARAM_SPACE.clip(PARAM_SPACE.high + 5)
    np.testing.assert_array_equal(clipped, PARAM_SPACE.high)


def test_from_dict_requires_every_name():
    named = PARAM_SPACE.to_dict(PARAM_SPACE.defaults)
    np.testing.assert_array_equal(PARAM_SPACE.from_dict(named), PARAM_SPACE.defaults)
    del named["er"]
    with pytest.raises(ParameterError, match="er"):
        PARAM_SPACE.from_dict(named)
