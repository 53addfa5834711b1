import numpy as np
import pytest

from laetitia.emoticon.params import PARAM_SPACE
from laetitia.errors import ViewerSpecError
from laetitia.types import Viewer
from laetitia.viewers.people import (
    SHAPES,
    SUITE,
    SUITE_VERSION,
    Behaviour,
    PersonViewer,
    random_taste,
    suite_viewer,
)
from laetitia.viewers.spec import make_viewer, parse_viewer_spec

CALM = {"away_rate": 0.0, "mood_sd": 0.0, "noise": 0.0, "habituation_depth": 0.0}


def person(seed: int = 0, frames: int = 10, **behaviour: float) -> PersonViewer:
    taste = random_taste(np.random.default_rng(3), "sharp", len(PARAM_SPACE))
    return PersonViewer(taste, Behaviour(**{**CALM, **behaviour}), frames=frames, seed=seed)


def test_a_person_is_a_viewer_without_pixels() -> None:
    viewer = suite_viewer(0)
    assert isinstance(viewer, Viewer)
    assert not viewer.needs_image and not viewer.nondeterministic
    assert viewer.describe()["name"] == f"{SUITE_VERSION}/0"


def test_the_reaction_lags_behind_a_change() -> None:
    viewer = person(lag_frames=3.0)
    worst, best = PARAM_SPACE.denormalize(-np.ones(len(PARAM_SPACE))), viewer.optimum()
    for _ in range(3):
        viewer.react(None, worst)
    rising = viewer.react(None, best).happiness()
    assert rising[0] < rising[-1] - 0.2  # the first frames still show the dull emoticon
    assert np.all(np.diff(rising) > 0)
    assert rising[-1] == pytest.approx(viewer.true_happiness(best), abs=0.05)
    falling = viewer.react(None, worst).happiness()
    assert falling[0] > falling[-1] + 0.2


def test_showing_the_same_emoticon_again_amuses_less_and_recovers() -> None:
    viewer = person(habituation_depth=0.4, recovery_steps=3.0, lag_frames=0.1)
    best = viewer.optimum()
    first = viewer.react(None, best).happiness().mean()
    repeated = [viewer.react(None, best).happiness().mean() for _ in range(5)]
    assert repeated[-1] < first - 0.1
    assert np.all(np.diff(repeated) < 0)
    far = PARAM_SPACE.denormalize(-np.ones(len(PARAM_SPACE)))
    for _ in range(30):
        viewer.react(None, far)  # time passes with other emoticons
    for _ in range(3):
        viewer.react(None, best)  # the response settles back from the dull one
    assert viewer.habituation(PARAM_SPACE.normalize(best)) < 0.5 * 0.4


def test_looking_away_leaves_frames_without_a_face_at_the_configured_rate() -> None:
    viewer = person(away_rate=0.2, away_frames=5.0)
    reactions = [viewer.react(None, viewer.optimum()) for _ in range(400)]
    has_face = np.concatenate([r.has_face for r in reactions])
    assert 0.15 < 1.0 - has_face.mean() < 0.25
    probs = np.concatenate([r.probs for r in reactions])
    assert np.isnan(probs[~has_face]).all() and not np.isnan(probs[has_face]).any()
    assert any(r.n_faces == 0 for r in reactions)  # whole steps unscored, sometimes


def test_mood_drifts_slowly() -> None:
    viewer = person(mood_sd=0.05, mood_steps=50.0)
    moods = []
    for _ in range(300):
        viewer.react(None, viewer.optimum())
        moods.append(viewer.mood)
    moods = np.array(moods)
    assert 0.02 < moods.std() < 0.1
    assert np.corrcoef(moods[:-1], moods[1:])[0, 1] > 0.9


@pytest.mark.parametrize("index", SUITE)
def test_the_maximum_is_where_the_viewer_says(index: int) -> None:
    viewer = suite_viewer(index)
    top = viewer.true_happiness(viewer.optimum())
    assert top == pytest.approx(viewer.attainable_max())
    units = np.random.default_rng(index).uniform(-1, 1, size=(2000, len(PARAM_SPACE)))
    sampled = viewer.taste.happiness(units)
    assert sampled.max() <= top and sampled.min() >= viewer.floor()


def test_the_suite_has_every_shape_and_is_reproducible() -> None:
    assert len(SUITE) >= 20
    assert {suite_viewer(i).taste.shape for i in SUITE} == set(SHAPES)
    a, b = suite_viewer(5, seed=1), suite_viewer(5, seed=1)
    assert a.describe() == b.describe()
    params = PARAM_SPACE.defaults
    assert all(a.react(None, params) == b.react(None, params) for _ in range(5))
    other_noise = suite_viewer(5, seed=2)
    assert other_noise.react(None, params) != suite_viewer(5, seed=1).react(None, params)
    assert suite_viewer(6).taste.describe() != suite_viewer(5).taste.describe()


def test_irrelevant_parameters_do_not_matter_and_two_favourites_have_a_trap() -> None:
    rng = np.random.default_rng(0)
    taste = random_taste(rng, "irrelevant", len(PARAM_SPACE))
    idle = np.flatnonzero(taste.relevance == 0)
    assert idle.size == len(PARAM_SPACE) - 3
    moved = taste.favourites[0].copy()
    moved[idle] = rng.uniform(-1, 1, idle.size)
    assert taste.happiness(moved) == pytest.approx(taste.peak)
    two = random_taste(rng, "two", len(PARAM_SPACE))
    second = two.happiness(two.favourites[1])
    assert two.floor < second < two.floor + 0.9 * (two.peak - two.floor)


def test_person_spec_builds_a_suite_member() -> None:
    viewer = make_viewer("person:5", frames=4)
    assert isinstance(viewer, PersonViewer) and viewer.frames == 4
    assert viewer.taste.describe() == suite_viewer(5).taste.describe()
    assert make_viewer("person").name == suite_viewer(0).name
    with pytest.raises(ViewerSpecError, match="0 to 23"):
        make_viewer("person:24")
    with pytest.raises(ViewerSpecError, match="suite member"):
        parse_viewer_spec("person:x")


def test_people_v2_are_drawn_around_a_smile_yet_each_needs_a_search_of_their_own():
    from laetitia.emoticon.params import PARAM_SPACE
    from laetitia.viewers.people import (
        POPULATION_FAVOURITE,
        SUITES,
        V2_HELD_OUT,
        V2_TRAINING,
        suite_viewer,
    )

    assert set(V2_TRAINING) | set(V2_HELD_OUT) == set(range(SUITES["people-v2"]))
    assert not set(V2_TRAINING) & set(V2_HELD_OUT)
    centre = PARAM_SPACE.normalize(np.array(POPULATION_FAVOURITE))
    reached, distance_v1, distance_v2 = 0, [], []
    for index in range(SUITES["people-v2"]):
        person = suite_viewer(index, suite="people-v2")
        threshold = person.floor() + 0.9 * (person.attainable_max() - person.floor())
        reached += person.true_happiness(np.array(POPULATION_FAVOURITE)) >= threshold
        distance_v2.append(np.linalg.norm(PARAM_SPACE.normalize(person.optimum()) - centre))
    for index in range(SUITES["people-v1"]):
        optimum = PARAM_SPACE.normalize(suite_viewer(index).optimum())
        distance_v1.append(np.linalg.norm(optimum - centre))
    assert reached < SUITES["people-v2"] / 5  # the population's favourite is not enough
    assert np.median(distance_v2) < 0.6 * np.median(distance_v1)  # but it is near
    assert suite_viewer(30, suite="people-v2").name == "people-v2/30"


def test_person_v2_spec_names_a_member_of_people_v2():
    from laetitia.errors import ViewerSpecError

    assert make_viewer("person:v2:47").name == "people-v2/47"
    assert make_viewer("person:5").name == "people-v1/5"  # v1 stays what it was
    with pytest.raises(ViewerSpecError, match="people-v2 has members 0 to 47"):
        make_viewer("person:v2:48")
    with pytest.raises(ViewerSpecError, match="whole number"):
        make_viewer("person:v2:x")
