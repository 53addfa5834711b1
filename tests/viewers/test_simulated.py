import numpy as np

from laetitia.emoticon import PARAM_SPACE
from laetitia.labels import EMOTIONS
from laetitia.viewers.simulated import SimulatedViewer


def test_same_seed_same_person_and_same_noise():
    a, b = SimulatedViewer(seed=3), SimulatedViewer(seed=3)
    a.reset(seed=1)
    b.reset(seed=1)
    x = PARAM_SPACE.defaults
    np.testing.assert_array_equal(a.react(None, x).probs, b.react(None, x).probs)
    assert SimulatedViewer(seed=4).true_happiness(x) != a.true_happiness(x)


def test_favourite_is_the_happiest_emoticon():
    viewer = SimulatedViewer(seed=2)
    rng = np.random.default_rng(0)
    best = viewer.true_happiness(viewer.favourite())
    others = [
        viewer.true_happiness(PARAM_SPACE.denormalize(rng.uniform(-1, 1, 8))) for _ in range(200)
    ]
    assert best > max(others)


def test_frames_are_probability_rows_centred_on_the_taste():
    viewer = SimulatedViewer(seed=1, frames=400, noise=0.05)
    reaction = viewer.react(None, viewer.favourite())
    np.testing.assert_allclose(reaction.probs.sum(axis=1), 1.0, rtol=1e-5)
    assert reaction.probs.shape == (400, len(EMOTIONS)) and reaction.has_face.all()
    assert abs(reaction.happiness().mean() - viewer.true_happiness(viewer.favourite())) < 0.02
