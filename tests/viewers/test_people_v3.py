"""people-v3: people drawn from the smile signal's measurements, reacting in seconds."""

import dataclasses

import numpy as np
import pytest

from laetitia.emoticon.params import PARAM_SPACE
from laetitia.errors import ViewerSpecError
from laetitia.types import Viewer
from laetitia.viewers.people_v3 import (
    BLOCK,
    DRIFT_OVER,
    DRIFT_UNITS,
    FAINT_LIFT,
    MEDIAN_GAP,
    NEUTRAL_QUANTILES,
    SUITE_V3,
    V3_PRIOR,
    V3_SIZE,
    V3_TEST,
    V3_VALIDATION,
    PersonV3Viewer,
    v3_person,
    v3_viewer,
)
from laetitia.viewers.spec import make_viewer
from laetitia.viewers.suites import SPLITS, SUITES, suite_viewer

PEOPLE = [v3_person(i) for i in range(V3_SIZE)]
WORST = PARAM_SPACE.denormalize(-np.ones(len(PARAM_SPACE)))


def calm(index: int, **changes: object) -> object:
    """Member `index` without noise, mood, looking away or habituation."""
    quiet = {"jitter": 0.0, "wander": 0.0, "mood_sd": 0.0, "away_share": 0.0}
    return dataclasses.replace(PEOPLE[index], habituation_depth=0.0, **{**quiet, **changes})


def test_the_suite_has_its_mix_of_people_in_every_block_and_three_disjoint_splits():
    assert SUITES[SUITE_V3] == V3_SIZE == len(V3_PRIOR) + len(V3_VALIDATION) + len(V3_TEST)
    assert set(V3_PRIOR) | set(V3_VALIDATION) | set(V3_TEST) == set(range(V3_SIZE))
    assert not (set(V3_PRIOR) & set(V3_VALIDATION) or set(V3_VALIDATION) & set(V3_TEST))
    assert SPLITS[SUITE_V3] == {"prior": V3_PRIOR, "validation": V3_VALIDATION, "test": V3_TEST}
    for split in (V3_PRIOR, V3_VALIDATION, V3_TEST):
        kinds = [PEOPLE[i].kind for i in split]
        assert kinds.count("faint") >= 0.4 * len(split)
        assert kinds.count("none") == len(split) // 10
        assert sum(PEOPLE[i].drifts for i in split) == len(split) // 4
    for block in range(V3_SIZE // BLOCK):
        members = PEOPLE[block * BLOCK : (block + 1) * BLOCK]
        assert [p.kind for p in members].count("faint") == 9


def test_floors_and_lifts_are_on_the_signals_scale():
    floors = np.array([p.taste.floor for p in PEOPLE])
    lifts = np.array([p.taste.peak - p.taste.floor for p in PEOPLE])
    kinds = np.array([p.kind for p in PEOPLE])
    assert NEUTRAL_QUANTILES[0][1] <= floors.min() and floors.max() <= NEUTRAL_QUANTILES[-1][1]
    assert np.median(floors) < 0.02  # most resting faces read next to nothing
    assert np.all(lifts[kinds == "none"] == 0.0)
    faint = lifts[kinds == "faint"]
    assert FAINT_LIFT[0] <= faint.min() and faint.max() <= 0.25 * MEDIAN_GAP
    assert np.all(lifts[kinds == "clear"] > 0.25 * MEDIAN_GAP)


def test_a_person_is_the_same_for_every_seed_and_the_noise_is_the_seeds():
    a, b = v3_viewer(45, seed=1), v3_viewer(45, seed=1)
    assert a.person.taste.describe() == v3_person(45).taste.describe()
    assert all(a.react(None, a.optimum()) == b.react(None, b.optimum()) for _ in range(5))
    other = v3_viewer(45, seed=2)
    assert other.react(None, other.optimum()) != v3_viewer(45, seed=1).react(None, a.optimum())


def test_a_smile_starts_after_the_latency_and_is_readable_when_the_person_says():
    person = calm(45)
    viewer = PersonV3Viewer(person, frames=60, settle_s=0.0, camera_fps=30.0)
    viewer.react(None, WORST)  # two seconds at the dull emoticon
    rising = viewer.react(None, viewer.optimum()).signal_values().astype(np.float64)
    times = np.arange(60) / 30.0
    floor, top = rising[0], viewer.true_happiness(viewer.optimum())
    before = times < person.latency_s
    assert np.allclose(rising[before], floor, atol=1e-6)  # nothing shows before the latency
    way = (rising - floor) / (top - floor)
    readable = times[np.argmax(way >= 0.9 - 1e-6)]
    assert readable == pytest.approx(person.readable_s, abs=1.0 / 30.0 + 1e-9)
    assert np.all(np.diff(rising[~before]) > 0)


def test_the_settle_and_the_camera_rate_decide_when_the_frames_are_read():
    person = calm(45)
    early = PersonV3Viewer(person, frames=5, settle_s=0.0, camera_fps=30.0)
    late = PersonV3Viewer(person, frames=5, settle_s=1.5, camera_fps=30.0)
    fast = PersonV3Viewer(person, frames=5, settle_s=0.0, camera_fps=60.0)
    readings = {}
    for name, viewer in (("early", early), ("late", late), ("fast", fast)):
        viewer.react(None, WORST)
        reaction = viewer.react(None, viewer.optimum())
        readings[name] = reaction.signal_values().mean()
        assert np.allclose(np.diff(reaction.times_s), 1.0 / viewer.camera_fps)
    assert readings["late"] > 0.9 * early.true_happiness(early.optimum()) > readings["early"]
    assert early.clock_s == pytest.approx(2 * 5 / 30.0) and late.clock_s == pytest.approx(
        2 * (1.5 + 5 / 30.0)
    )
    assert fast.clock_s == pytest.approx(2 * 5 / 60.0)


def test_frame_noise_is_in_log_odds_a_resting_face_reads_steady():
    resting_index = next(i for i, p in enumerate(PEOPLE) if not p.responds and p.taste.floor < 1e-3)
    smiling_index = next(i for i, p in enumerate(PEOPLE) if p.kind == "clear")
    readings = []
    for index in (resting_index, smiling_index):
        viewer = PersonV3Viewer(calm(index, jitter=0.3), frames=400, settle_s=2.0)
        frames = viewer.react(None, viewer.optimum()).signal_values().astype(np.float64)
        level = frames.mean()  # the sd of p = sigmoid(x + noise) is about sd · p (1 - p)
        assert frames.std() == pytest.approx(0.3 * level * (1 - level), rel=0.2)
        readings.append(frames)
    assert readings[0].std() < 1e-3 < 0.01 < readings[1].std()


def test_a_non_responder_reads_the_same_whatever_is_shown():
    index = next(i for i in V3_VALIDATION if PEOPLE[i].kind == "none")
    viewer = v3_viewer(index)
    assert not viewer.responds and viewer.attainable_max() == viewer.floor()
    units = np.random.default_rng(0).uniform(-1, 1, (50, len(PARAM_SPACE)))
    assert {viewer.true_happiness(PARAM_SPACE.denormalize(u)) for u in units} == {viewer.floor()}


def test_a_moving_taste_moves_its_favourite_as_emoticons_are_shown():
    index = next(i for i in V3_VALIDATION if PEOPLE[i].drifts)
    viewer = v3_viewer(index)
    start, later = viewer.optimum(shown=0), viewer.optimum(shown=DRIFT_OVER)
    moved = np.linalg.norm(PARAM_SPACE.normalize(later) - PARAM_SPACE.normalize(start))
    assert DRIFT_UNITS[0] - 1e-9 <= moved <= DRIFT_UNITS[1] + 1e-9
    assert viewer.true_happiness(start, shown=DRIFT_OVER) < viewer.attainable_max()
    for _ in range(3):
        viewer.react(None, start)
    assert viewer.shown == 3 and viewer.true_happiness(start) == viewer.true_happiness(start, 3)
    steady = next(i for i in V3_VALIDATION if not PEOPLE[i].drifts and PEOPLE[i].responds)
    assert np.array_equal(v3_viewer(steady).optimum(0), v3_viewer(steady).optimum(DRIFT_OVER))


def test_a_reaction_and_the_description_carry_no_hidden_truth():
    viewer = v3_viewer(45)
    reaction = viewer.react(None, viewer.optimum())
    assert reaction.extras == {}
    described = viewer.describe()
    assert set(described) == {"kind", "name", "seed", "frames", "settle_s", "camera_fps"}


def test_its_reactions_carry_the_smile_signals_readings():
    viewer = v3_viewer(45)
    assert viewer.signal == "smile"
    reaction = viewer.react(None, viewer.optimum())
    values = reaction.signal_values()
    assert reaction.signal == "smile" and values.dtype == np.float32
    assert np.isnan(values[~reaction.has_face]).all()
    # The class probabilities mirror the same reading, so a session's columns read alike.
    seen = reaction.has_face
    np.testing.assert_allclose(values[seen], reaction.happiness()[seen], rtol=1e-6)


def test_person_v3_spec_builds_a_member_with_the_run_settings():
    viewer = make_viewer("person:v3:41", frames=4, settle_s=0.2, camera_fps=25.0)
    assert isinstance(viewer, PersonV3Viewer) and isinstance(viewer, Viewer)
    assert (viewer.name, viewer.frames, viewer.settle_s, viewer.camera_fps) == (
        "people-v3/41",
        4,
        0.2,
        25.0,
    )
    assert suite_viewer(41, suite=SUITE_V3).person.taste.describe() == (
        viewer.person.taste.describe()
    )
    with pytest.raises(ViewerSpecError, match="people-v3 has members 0 to 179"):
        make_viewer("person:v3:180")
    with pytest.raises(ViewerSpecError, match="whole number"):
        make_viewer("person:v3:x")
