"""The landmarker's geometry, its model file, and what the meter pays for it."""

import math

import numpy as np
import pytest

from laetitia.errors import CheckpointError, DependencyError
from laetitia.landmarks import LANDMARKER_SHA256, FaceLandmarker, read_bundle
from laetitia.landmarks.geometry import Roi, crop, project, roi_from_landmarks, roi_from_yunet
from laetitia.landmarks.smoothing import OneEuroFilter


def test_the_crop_and_the_projection_are_inverse():
    """A landmark at crop fraction (u, v) lands where the crop took that pixel from."""
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[120, 170] = 255  # one bright pixel
    roi = Roi(cx=160.0, cy=110.0, width=80.0, height=80.0, rotation=math.radians(20))
    patch = crop(frame, roi, 256)
    y, x = np.unravel_index(np.argmax(patch[..., 0]), patch.shape[:2])
    back = project(np.array([[(x + 0.5) / 256, (y + 0.5) / 256, 0.0]]), roi)[0]
    assert abs(back[0] - 170.5) < 1.0 and abs(back[1] - 120.5) < 1.0


def test_regions_are_level_with_the_eyes():
    box = np.array([100.0, 100.0, 200.0, 220.0])
    eyes = np.array([[120.0, 140.0], [180.0, 160.0]])  # the left one lower: the head tilts
    roi = roi_from_yunet(box, eyes)
    assert roi.rotation == pytest.approx(math.atan2(20, 60))
    assert roi.width == roi.height == pytest.approx(1.315 * 120)
    points = np.zeros((478, 3))
    points[:, 0] = np.linspace(50, 150, 478)
    points[:, 1] = np.linspace(60, 100, 478)
    points[33, :2], points[263, :2] = (60, 80), (140, 80)
    tracked = roi_from_landmarks(points)
    assert tracked.rotation == 0 and tracked.width == pytest.approx(150)  # 1.5 x the long side


def test_the_one_euro_filter_holds_a_still_face_and_follows_a_moving_one():
    filt = OneEuroFilter()
    still = np.random.default_rng(0).uniform(100, 200, (478, 3))
    for _ in range(3):
        np.testing.assert_allclose(filt(still), still)
    moved = filt(still + 10.0)  # a fast move: the cut-off rises, the filter follows closely
    assert 8.0 < float(np.mean(moved - still)) <= 10.0
    filt.reset()
    np.testing.assert_allclose(filt(still + 50.0), still + 50.0)  # a new face starts afresh


def test_a_changed_model_file_is_refused(tmp_path):
    from laetitia.landmarks import landmarker_model_path

    damaged = tmp_path / "face_landmarker.task"
    damaged.write_bytes(landmarker_model_path().read_bytes()[:-1] + b"x")
    with pytest.raises(CheckpointError, match=LANDMARKER_SHA256):
        read_bundle(damaged)
    with pytest.raises(CheckpointError, match="not found"):
        read_bundle(tmp_path / "missing.task")
    members = read_bundle()
    assert set(members) == {"face_landmarks_detector.tflite", "face_blendshapes.tflite"}


def test_without_litert_the_landmarker_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_litert(name, *args, **kwargs):
        if name.startswith("ai_edge_litert"):
            raise ImportError("no module named ai_edge_litert")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    from laetitia.landmarks import LandmarkNetworks

    with pytest.raises(DependencyError, match="ai-edge-litert") as refused:
        LandmarkNetworks()
    assert refused.value.mentions == ("signal",)


def test_a_frame_without_a_face_reads_none_and_is_not_searched_when_told(fixtures_dir):
    from laetitia.cameras import VideoFile

    with VideoFile(fixtures_dir / "single_face.mp4") as video:
        frame = next(iter(video))
    landmarker = FaceLandmarker()
    assert landmarker.read(np.zeros_like(frame)) is None
    assert landmarker.read(frame, search=False) is None  # nothing followed, nothing searched
    found = landmarker.read(frame)
    assert found is not None and found.presence > 0.5 and found.landmarks.shape == (478, 3)
    # Followed: the next frame is read in the region of these landmarks, even unsearched.
    assert landmarker.read(frame, search=False) is not None


def test_litert_greets_no_one_on_stderr():
    """LiteRT prints an INFO line when a process builds its first network: it is held back."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from laetitia.landmarks import LandmarkNetworks\n"
        "LandmarkNetworks()\n"
        "print('built', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "built\n"
