import numpy as np
import pytest

from laetitia.labels import EMOTIONS, INDEX
from laetitia.reward import reward_from
from laetitia.types import Reaction


def _reaction(happy, has_face):
    probs = np.full((len(happy), len(EMOTIONS)), np.nan, dtype=np.float32)
    for i, (h, face) in enumerate(zip(happy, has_face, strict=True)):
        if face:
            probs[i] = (1 - h) / (len(EMOTIONS) - 1)
            probs[i, INDEX["happy"]] = h
    return Reaction(probs=probs, has_face=np.array(has_face))


def test_reward_is_mean_happiness_over_frames_with_a_face():
    terms = reward_from(_reaction([0.2, 0.0, 0.8], [True, False, True]), previous_reward=0.9)
    assert terms.reward == pytest.approx(0.5)
    assert terms.scored and terms.faces == 2 and terms.frames == 3


def test_no_face_repeats_the_previous_reward_and_is_unscored():
    terms = reward_from(_reaction([0, 0], [False, False]), previous_reward=0.42)
    assert terms.reward == 0.42
    assert not terms.scored and terms.faces == 0
    assert np.isnan(terms.happiness)


def test_faceless_frames_carry_no_emotion():
    reaction = _reaction([0.3, 0.0], [True, False])
    assert np.isnan(reaction.probs[1]).all()
    np.testing.assert_allclose(reaction.mean_probs()[INDEX["happy"]], 0.3, rtol=1e-6)
