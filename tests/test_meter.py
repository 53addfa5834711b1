"""The happiness meter on real faces: smiles, still images, faceless frames, one CNN call."""

import numpy as np
import pytest

from laetitia.cameras import VideoFile
from laetitia.errors import LabelMismatchError
from laetitia.faces import DETECT_EVERY
from laetitia.fer import load_model
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.meter import HappinessMeter


def _frames(path, count=None):
    with VideoFile(path) as video:
        frames = list(video)
    return frames if count is None else frames[:count]


@pytest.fixture(scope="module")
def single_face(fixtures_dir):
    return _frames(fixtures_dir / "single_face.mp4")


@pytest.fixture(scope="module")
def still(fixtures_dir):
    import cv2

    return cv2.imread(str(fixtures_dir / "single_face.jpg"))


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_the_smile_at_the_end_reads_far_happier_than_the_start(single_face, detector):
    reaction = HappinessMeter.live(detector).read(single_face)
    assert reaction.has_face.all()
    happy = reaction.happiness()
    fifth = len(happy) // 5
    first, last = happy[:fifth].mean(), happy[-fifth:].mean()
    assert first < 0.2 and last > 0.7, (first, last)


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_the_still_is_classified_happy(still, detector):
    reaction = HappinessMeter.default(detector).read([still])
    assert reaction.has_face.tolist() == [True]
    assert EMOTIONS[int(np.argmax(reaction.probs[0]))] == HAPPY


def test_the_faceless_opening_is_marked_so(fixtures_dir):
    frames = _frames(fixtures_dir / "noface_face.mov")
    reaction = HappinessMeter.live().read(frames)
    opening = slice(0, 90)  # the title card; the man appears around frame 96
    assert not reaction.has_face[opening].any()
    assert np.isnan(reaction.probs[opening]).all() and np.isnan(reaction.boxes[opening]).all()
    assert reaction.has_face[100:160].all()
    assert np.isfinite(reaction.probs[100:160]).all()


def test_the_cnn_runs_once_per_read_over_all_face_crops(single_face, monkeypatch):
    meter = HappinessMeter.default("haar", detect_every=5)
    calls = []
    predict = meter.model.predict_proba
    monkeypatch.setattr(
        meter.model, "predict_proba", lambda crops: calls.append(len(crops)) or predict(crops)
    )
    blank = np.full_like(single_face[0], 80)
    reaction = meter.read([single_face[0], blank, single_face[1], single_face[2]], related=False)
    assert calls == [3]
    assert reaction.has_face.tolist() == [True, False, True, True]
    assert len(reaction.frames) == 4 and reaction.frames[1] is blank
    meter.read([blank, blank])
    assert calls == [3]  # no face, no CNN call


def test_detector_none_reads_frames_as_face_crops(still):
    import cv2

    model = load_model()
    crop = cv2.resize(cv2.cvtColor(still[148:384, 157:393], cv2.COLOR_BGR2GRAY), (48, 48))
    meter = HappinessMeter.default("none")
    reaction = meter.read([crop])
    expected = model.predict_proba(cv2.resize(crop, (64, 64))[None])
    np.testing.assert_allclose(reaction.probs, expected, atol=1e-6)
    np.testing.assert_array_equal(reaction.boxes[0], [0, 0, 48, 48])


def test_describe_names_the_detector_and_the_model():
    meter = HappinessMeter.default("haar", detect_every=3)
    described = meter.describe()
    assert described["detector"]["name"] == "haar"
    assert described["detector"]["detect_every"] == 3
    assert described["model"]["identity"] == meter.model.identity
    assert described["model"]["classes"] == list(EMOTIONS)


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_viewers_calibration_and_fer_predict_all_read_with_the_live_meter(
    detector, tmp_path, monkeypatch
):
    from laetitia.app.calibration import open_meter
    from laetitia.cli import main
    from laetitia.viewers.spec import make_viewer

    live = HappinessMeter.live(detector).describe()
    assert live["detector"]["name"] == detector
    assert live["detector"]["detect_every"] == DETECT_EVERY[detector]
    clip = tmp_path / "clip.mp4"
    clip.touch()  # the viewer opens it on its first reaction only
    assert make_viewer(f"video:{clip}", detector=detector).meter.describe() == live
    assert open_meter(detector).describe() == live
    read = []
    monkeypatch.setattr(
        "laetitia.app.predict.predict_source",
        lambda path, meter, progress: read.append(meter.describe()) or _NoResult(),
    )
    assert main(["fer", "predict", str(clip), "--detector", detector]) == 0
    assert main(["fer", "predict", str(clip), "--detector", detector, "--detect-every", "1"]) == 0
    # fer predict reads the default signal, smile, through the same live pipeline.
    assert read[0] == HappinessMeter.live(detector, signal="smile").describe()
    assert read[0]["detector"] == live["detector"] and read[0]["model"] == live["model"]
    assert read[1]["detector"] == HappinessMeter.default(detector).describe()["detector"]


def test_the_live_viewers_default_meter_is_the_live_meter(tmp_path):
    from laetitia.viewers.live import LiveViewer

    viewer = LiveViewer.from_video(tmp_path / "clip.mp4")
    assert viewer.meter.describe() == HappinessMeter.live().describe()


class _NoResult:
    def summary(self):
        return ""


def test_a_model_without_happy_is_refused():
    class NoHappy:
        class_names = ("angry", "sad")

    with pytest.raises(LabelMismatchError, match="happy"):
        HappinessMeter(None, NoHappy())
