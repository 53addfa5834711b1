"""FaceTracker's schedule: a lost face is looked for on the next frame, an absent one every other
frame; a step starts with a detection."""

import numpy as np
import pytest

from laetitia.faces import FaceTracker
from laetitia.fer import load_model
from laetitia.meter import HappinessMeter

BOX = np.array([40, 30, 48, 48], dtype=np.float32)


class ScriptedDetector:
    """Finds the face (BOX) or nothing, call by call, as told; counts its calls."""

    name = "scripted"
    whole_frame = False

    def __init__(self, finds):
        self.finds = list(finds)
        self.calls = 0

    def detect(self, frame_bgr, gray=None):
        found = self.finds[self.calls] if self.calls < len(self.finds) else True
        self.calls += 1
        return BOX.copy() if found else None

    def reset(self):
        pass

    def describe(self):
        return {"name": self.name}


class FaceOnFrames(ScriptedDetector):
    """Finds the face on the given frame numbers only; `track` tells it the frame number."""

    def __init__(self, indices):
        super().__init__([])
        self.indices = {int(i) for i in indices}
        self.frame = 0
        self.looked_on = []

    def detect(self, frame_bgr, gray=None):
        self.calls += 1
        self.looked_on.append(self.frame)
        return BOX.copy() if self.frame in self.indices else None


def track(tracked, detector, images):
    """Whether the tracker has a face on each image, telling the detector the frame number."""
    found = []
    for index, image in enumerate(images):
        detector.frame = index
        found.append(tracked.detect(image) is not None)
    return np.array(found)


@pytest.fixture(scope="module")
def frames():
    """Ten identical textured frames: the template tracker follows the face on all of them."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    return [frame.copy() for _ in range(10)]


@pytest.mark.parametrize("appears", range(1, 8))
def test_a_face_that_appears_is_found_by_its_second_frame(frames, appears):
    detector = FaceOnFrames(range(appears, 10))
    tracked = FaceTracker(detector, detect_every=5)
    found = track(tracked, detector, frames)
    first = int(np.argmax(found))
    assert appears <= first <= appears + 1 and found[first:].all()
    # While there is no face, every other frame is a detection: frames 0, 2, 4, ...
    assert detector.looked_on[: (appears + 1) // 2] == list(range(0, appears, 2))


@pytest.mark.parametrize("appears", range(1, 8))
def test_detecting_every_frame_while_no_face_finds_it_on_its_first(frames, appears):
    detector = FaceOnFrames(range(appears, 10))
    tracked = FaceTracker(detector, detect_every=5, absent_every=1)
    found = track(tracked, detector, frames)
    assert found.tolist() == [False] * appears + [True] * (10 - appears)
    assert detector.looked_on[:appears] == list(range(appears))


@pytest.mark.parametrize("tracker", ["template", "hold"])
def test_a_single_miss_of_a_followed_face_costs_one_frame(frames, tracker):
    # Found on frame 0, missed by the detector on frame 5, retried and found on frame 6.
    detector = ScriptedDetector([True, False, True])
    tracked = FaceTracker(detector, detect_every=5, tracker=tracker)
    found = [tracked.detect(frame) is not None for frame in frames]
    assert found == [True] * 5 + [False] + [True] * 4
    assert detector.calls == 3


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("tracker", ["template", "hold"])
def test_no_face_the_detector_finds_is_lost_for_more_than_one_frame(frames, seed, tracker):
    """A face that comes and goes, and a detector that misses at random, over 400 frames."""
    rng = np.random.default_rng(seed)
    present = np.repeat(rng.random(40) < 0.5, rng.integers(1, 20, 40))[:400]
    seen = present & (rng.random(len(present)) > 0.1)  # what the detector finds on each frame
    detector = FaceOnFrames(np.flatnonzero(seen))
    tracked = FaceTracker(detector, detect_every=5, tracker=tracker)
    blank = np.zeros_like(frames[0])  # the template loses the face when it leaves
    found = track(tracked, detector, [frames[0] if p else blank for p in present])
    lost = seen & ~found
    assert not (lost[1:] & lost[:-1]).any()  # never two frames in a row
    assert detector.calls < len(present) * 0.75  # and far from a detection on every frame


def test_the_schedule_round_trips_through_the_description():
    from laetitia.faces import detector_from_description, make_detector

    detector = make_detector("haar", detect_every=5, absent_every=3, tracker="hold")
    rebuilt = detector_from_description(detector.describe())
    assert rebuilt.describe() == detector.describe()
    assert isinstance(rebuilt, FaceTracker) and rebuilt.absent_every == 3
    assert make_detector("haar", detect_every=5).describe()["absent_every"] == 2


def test_sessions_recorded_before_the_retry_track_as_they_did(frames):
    detector = ScriptedDetector([False, True])
    tracked = FaceTracker(detector, detect_every=5, redetect_after_miss=False)
    found = [tracked.detect(frame) is not None for frame in frames]
    assert found == [False] * 5 + [True] * 5
    assert tracked.describe()["redetect_after_miss"] is False


def test_sessions_recorded_before_absent_every_detected_on_every_frame_without_a_face():
    from laetitia.faces import spelled_out

    assert spelled_out({"name": "haar", "detect_every": 5, "redetect_after_miss": True}) == {
        "name": "haar",
        "detect_every": 5,
        "redetect_after_miss": True,
        "absent_every": 1,
        "scout": None,
    }
    assert spelled_out({"name": "haar"}) == {"name": "haar"}  # no tracker: every frame


def test_each_read_starts_with_a_detection(frames):
    detector = ScriptedDetector([True] * 20)
    meter = HappinessMeter(FaceTracker(detector, detect_every=5), load_model())
    meter.read(frames[:3])
    assert detector.calls == 1
    reaction = meter.read(frames[:3])  # a new step: its first frame is detected afresh
    assert detector.calls == 2 and reaction.has_face.all()
    meter.read(frames[:2], continues=True)  # the same video read on: the face is followed
    assert detector.calls == 2


def scouted(finds_detector, finds_scout, **options):
    """A tracker around a scripted detector, with a scripted scout."""
    detector, scout = ScriptedDetector(finds_detector), ScriptedDetector(finds_scout)
    return FaceTracker(detector, detect_every=5, scout=scout, **options), detector, scout


def test_the_scout_looks_while_there_is_no_face_and_the_detector_when_it_sees_one(frames):
    # The detector finds nothing on frame 0; the scout sees nothing on frame 2, a face on
    # frame 4, which the detector then finds on that same frame.
    tracked, detector, scout = scouted([False, True], [False, True])
    found = [tracked.detect(frame) is not None for frame in frames[:7]]
    assert found == [False] * 4 + [True] * 3
    assert (detector.calls, scout.calls) == (2, 2)
    assert tracked.detections == 2  # the scout's looks are not detections


class ElsewhereScout(ScriptedDetector):
    """Always sees a face, somewhere other than BOX."""

    def detect(self, frame_bgr, gray=None):
        self.calls += 1
        return BOX + 7


def test_the_box_comes_from_the_detector_not_the_scout(frames):
    detector = ScriptedDetector([False, True])
    tracked = FaceTracker(detector, detect_every=5, scout=ElsewhereScout([]))
    assert tracked.detect(frames[0]) is None
    tracked.detect(frames[1])  # no detection due: absent every 2
    assert np.array_equal(tracked.detect(frames[2]), BOX)


def test_a_face_the_scout_sees_but_the_detector_does_not_is_no_face(frames):
    tracked, detector, scout = scouted([False, False, False], [True, True])
    found = [tracked.detect(frame) is not None for frame in frames[:5]]
    assert found == [False] * 5
    assert (detector.calls, scout.calls) == (3, 2)  # frames 0, 2, 4; the scout on 2 and 4


def test_each_step_starts_with_the_detector_not_the_scout(frames):
    tracked, detector, scout = scouted([False, True, True], [False])
    for _ in range(3):
        tracked.detect(frames[0])  # a miss, then nothing due, then the scout sees nothing
    tracked.reset()
    assert tracked.detect(frames[0]) is not None  # the detector's own look, after the reset
    assert (detector.calls, scout.calls) == (2, 1)


def test_a_lost_face_is_looked_for_by_the_scout_on_the_next_frame(frames):
    # Followed from frame 0, missed by the detector on frame 5: no face, so the scout looks on
    # frame 6, sees it, and the detector finds it there. A single miss still costs one frame.
    tracked, detector, scout = scouted([True, False, True], [True])
    found = [tracked.detect(frame) is not None for frame in frames]
    assert found == [True] * 5 + [False] + [True] * 4
    assert (detector.calls, scout.calls) == (3, 1)


def test_the_scout_round_trips_through_the_description():
    from laetitia.faces import YunetDetector, detector_from_description, make_detector

    tracked = make_detector("yunet", detect_every=5)
    assert isinstance(tracked, FaceTracker) and isinstance(tracked.scout, YunetDetector)
    assert tracked.scout.long_side_px == 160 and tracked.detector.long_side_px == 320
    rebuilt = detector_from_description(tracked.describe())
    assert isinstance(rebuilt, FaceTracker) and rebuilt.describe() == tracked.describe()
    assert rebuilt.scout is not None and rebuilt.scout.long_side_px == 160
    alone = make_detector("yunet", detect_every=5, scout_side_px=0)
    assert isinstance(alone, FaceTracker) and alone.scout is None
    assert detector_from_description(alone.describe()).describe()["scout"] is None
    # Sessions recorded before the scout had none, and are rebuilt without one.
    recorded = {k: v for k, v in tracked.describe().items() if k != "scout"}
    old = detector_from_description(recorded)
    assert isinstance(old, FaceTracker) and old.scout is None


def test_a_scout_is_refused_where_it_cannot_save_anything():
    from laetitia.errors import ConfigError
    from laetitia.faces import make_detector

    with pytest.raises(ConfigError, match="no working size"):
        make_detector("haar", detect_every=5, scout_side_px=100)
    with pytest.raises(ConfigError, match="must be smaller"):
        make_detector("yunet", detect_every=5, scout_side_px=320)
    with pytest.raises(ConfigError, match="must be 0"):
        make_detector("yunet", detect_every=5, scout_side_px=-160)
    haar = make_detector("haar", detect_every=5)  # no scout by default where none is known
    assert isinstance(haar, FaceTracker) and haar.scout is None
