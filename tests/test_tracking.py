"""FaceTracker's schedule: a miss is retried on the next frame; a step starts with a detection."""

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


@pytest.fixture(scope="module")
def frames():
    """Ten identical textured frames: the template tracker follows the face on all of them."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    return [frame.copy() for _ in range(10)]


@pytest.mark.parametrize("tracker", ["template", "hold"])
def test_a_single_miss_costs_one_frame(frames, tracker):
    detector = ScriptedDetector([False, True])
    tracked = FaceTracker(detector, detect_every=5, tracker=tracker)
    found = [tracked.detect(frame) is not None for frame in frames]
    # The miss on frame 0 is retried on frame 1, not five frames later.
    assert found == [False] + [True] * 9
    # Detections on frames 0 and 1, then every 5th frame from the last one: 6.
    assert detector.calls == 3


def test_while_there_is_no_face_every_frame_is_a_detection(frames):
    detector = ScriptedDetector([False] * 4)
    tracked = FaceTracker(detector, detect_every=5)
    found = [tracked.detect(frame) is not None for frame in frames]
    assert found == [False] * 4 + [True] * 6
    assert detector.calls == 5 + 1  # frames 0-4, then frame 9


def test_sessions_recorded_before_the_retry_track_as_they_did(frames):
    detector = ScriptedDetector([False, True])
    tracked = FaceTracker(detector, detect_every=5, redetect_after_miss=False)
    found = [tracked.detect(frame) is not None for frame in frames]
    assert found == [False] * 5 + [True] * 5
    assert tracked.describe()["redetect_after_miss"] is False


def test_each_read_starts_with_a_detection(frames):
    detector = ScriptedDetector([True] * 20)
    meter = HappinessMeter(FaceTracker(detector, detect_every=5), load_model())
    meter.read(frames[:3])
    assert detector.calls == 1
    reaction = meter.read(frames[:3])  # a new step: its first frame is detected afresh
    assert detector.calls == 2 and reaction.has_face.all()
    meter.read(frames[:2], continues=True)  # the same video read on: the face is followed
    assert detector.calls == 2
