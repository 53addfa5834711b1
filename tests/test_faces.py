"""Face detection: the detectors on real faces, box mapping, shrinking, old descriptions."""

import json

import cv2
import numpy as np
import pytest

from laetitia.cameras import VideoFile
from laetitia.errors import CheckpointError, ConfigError
from laetitia.faces import (
    IDENTITY_MAPPING,
    MTCNN_TO_HAAR,
    SCOUT_SIDE_PX,
    YUNET_KEYPOINTS,
    YUNET_SHA256,
    YUNET_TO_HAAR,
    FaceTracker,
    HaarDetector,
    MtcnnDetector,
    WholeFrame,
    YunetDetector,
    detector_from_description,
    make_detector,
    spelled_out,
    yunet_model_path,
)
from laetitia.faces.shrink import scaled, shrunk_to_side
from laetitia.fer import crop_face, load_model, to_gray
from laetitia.labels import INDEX
from laetitia.meter import HappinessMeter


@pytest.fixture(scope="module")
def video_frames(fixtures_dir):
    with VideoFile(fixtures_dir / "single_face.mp4") as video:
        return list(video)


@pytest.fixture(scope="module")
def reference(fixtures_dir):
    path = fixtures_dir / "fer_reference" / "reference.npz"
    if not path.is_file():
        pytest.skip(f"FER reference outputs not found at {path}")
    return dict(np.load(path))


@pytest.fixture(scope="module")
def mtcnn():
    return MtcnnDetector()


def _iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_haar_finds_the_boxes_the_fer_package_found(video_frames, reference):
    haar = HaarDetector()
    for index in range(0, 72, 9):
        box = haar.detect(video_frames[index])
        np.testing.assert_array_equal(box, reference["video_boxes_xywh"][index])


def test_mtcnn_boxes_are_mapped_onto_haar_boxes(video_frames, mtcnn):
    haar = HaarDetector()
    for frame in video_frames[::12]:
        raw = mtcnn.detect_all(frame)
        assert raw.shape == (1, 5)
        width, height = raw[0, 2] - raw[0, 0], raw[0, 3] - raw[0, 1]
        assert height > 1.25 * width  # MTCNN's own box is taller than wide
        mapped = mtcnn.detect(frame)
        assert mapped[2] == pytest.approx(mapped[3])
        assert _iou(mapped, haar.detect(frame)) > 0.8


def test_the_mapping_keeps_p_happy_close_to_the_haar_path(video_frames, mtcnn):
    model, haar = load_model(), HaarDetector()
    frames = video_frames[::3]
    grays = [to_gray(frame) for frame in frames]
    raws = [mtcnn.detect_all(frame)[0] for frame in frames]

    def p_happy(boxes):
        crops = np.stack([crop_face(g, b, model.card) for g, b in zip(grays, boxes, strict=True)])
        return model.predict_proba(crops)[:, INDEX["happy"]]

    on_haar = p_happy([haar.detect(f, g) for f, g in zip(frames, grays, strict=True)])
    unmapped = p_happy([IDENTITY_MAPPING.apply(r) for r in raws])
    mapped = p_happy([MTCNN_TO_HAAR.apply(r) for r in raws])
    # Unmapped boxes bias P(happy) (~0.05 on this video); mapped ones only jitter around it.
    assert abs(mapped.mean() - on_haar.mean()) < 0.03
    assert np.abs(mapped - on_haar).mean() < np.abs(unmapped - on_haar).mean()
    assert np.abs(mapped - on_haar).mean() < 0.07


def test_no_face_on_the_title_card_video(fixtures_dir, mtcnn):
    with VideoFile(fixtures_dir / "no_face.mp4") as video:
        for index, frame in enumerate(video):
            if index % 2 == 0:
                assert mtcnn.detect(frame) is None


def test_tracker_detects_every_k_frames_and_follows_the_face(video_frames):
    every, tracked = make_detector("haar"), make_detector("haar", detect_every=5)
    assert isinstance(tracked, FaceTracker)
    for frame in video_frames[:20]:
        assert _iou(tracked.detect(frame), every.detect(frame)) > 0.75
    assert tracked.detections == 4
    tracked.reset()
    tracked.detect(video_frames[0])
    assert tracked.detections == 1


@pytest.mark.parametrize("tracker", ["template", "hold"])
def test_a_face_that_leaves_is_lost_by_the_template_tracker(video_frames, tracker):
    detector = make_detector("haar", detect_every=5, tracker=tracker)
    blank = np.full_like(video_frames[0], 90)
    assert detector.detect(video_frames[0]) is not None
    after = detector.detect(blank)
    # The template no longer matches, so the detector runs at once and finds nobody;
    # holding the box keeps claiming the face until the next detection.
    assert (after is None) == (tracker == "template")


def test_whole_frame_detector_and_factory_errors(video_frames):
    crop = np.zeros((48, 48, 3), np.uint8)
    detector = make_detector("none", detect_every=5)
    assert isinstance(detector, WholeFrame) and detector.whole_frame
    np.testing.assert_array_equal(detector.detect(crop), [0, 0, 48, 48])
    with pytest.raises(ConfigError, match="unknown face detector"):
        make_detector("yolo")
    with pytest.raises(ConfigError, match="haar"):
        make_detector("haar", min_face=3)
    with pytest.raises(ConfigError, match="tracker"):
        make_detector("haar", detect_every=3, tracker="kalman")


@pytest.fixture(scope="module")
def yunet():
    return YunetDetector()


def test_yunet_boxes_are_mapped_onto_haar_boxes(video_frames, yunet):
    haar = HaarDetector()
    for frame in video_frames[::12]:
        raw = yunet.detect_all(frame)
        assert raw.shape == (1, 5) and raw[0, 4] > 0.9
        width, height = raw[0, 2] - raw[0, 0], raw[0, 3] - raw[0, 1]
        assert height > 1.3 * width  # YuNet's own box is taller than wide
        mapped = yunet.detect(frame)
        np.testing.assert_allclose(mapped, YUNET_TO_HAAR.apply(raw[0]))
        assert mapped[2] == pytest.approx(mapped[3])
        assert _iou(mapped, haar.detect(frame)) > 0.8
        assert _iou(IDENTITY_MAPPING.apply(raw[0]), haar.detect(frame)) < _iou(
            mapped, haar.detect(frame)
        )


@pytest.mark.parametrize(
    ("clip", "faces"), [("no_face.mp4", 0), ("noface_face.mov", 72), ("face_noface.mov", 72)]
)
def test_yunet_finds_no_face_on_the_title_cards(fixtures_dir, yunet, clip, faces):
    with VideoFile(fixtures_dir / clip) as video:
        found = np.array([yunet.detect(frame) is not None for frame in video])
    # The man's frames are one run (72 frames, as MTCNN finds); every title-card frame is empty.
    assert found.sum() == faces
    if faces:
        run = np.flatnonzero(found)
        assert run[-1] - run[0] + 1 == faces


@pytest.mark.parametrize(
    "clip", ["single_face.mp4", "noface_face.mov", "face_noface.mov", "no_face.mp4"]
)
def test_the_scout_sees_a_face_on_exactly_the_frames_yunet_finds_one(fixtures_dir, yunet, clip):
    scout = YunetDetector(long_side_px=SCOUT_SIDE_PX["yunet"])
    with VideoFile(fixtures_dir / clip) as video:
        frames = list(video)
    sees = [scout.detect(frame) is not None for frame in frames]
    assert sees == [yunet.detect(frame) is not None for frame in frames]


def test_the_scouted_default_reads_the_title_card_video_as_without_a_scout(fixtures_dir):
    with VideoFile(fixtures_dir / "noface_face.mov") as video:
        frames = list(video)
    steps = [frames[i : i + 10] for i in range(0, len(frames), 10)]
    readings = {}
    for side in (None, 0):  # the default scout, and none
        meter = HappinessMeter.live("yunet", scout_side_px=side)
        tracker = meter.detector
        assert isinstance(tracker, FaceTracker) and (tracker.scout is None) == (side == 0)
        detections = 0
        happy = []
        for step in steps:
            happy.append(meter.read(step).happiness())
            detections += tracker.detections
        readings[side] = (np.concatenate(happy), detections)
    (scouted, with_scout), (alone, without) = readings[None], readings[0]
    np.testing.assert_array_equal(scouted, alone)  # the same frames with a face, the same P
    assert np.isnan(scouted).sum() == len(frames) - 72
    # Each step over the title card looks on every other frame; with the scout only the first
    # look of a step is a detection.
    assert with_scout < without / 2


def test_a_changed_or_missing_yunet_model_is_refused(tmp_path):
    damaged = tmp_path / "face_detection_yunet_2023mar.onnx"
    data = bytearray(yunet_model_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256") as refused:
        YunetDetector(model_path=str(damaged))
    assert str(damaged) in str(refused.value)
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(CheckpointError, match="not found") as refused:
        YunetDetector(model_path=str(missing))
    assert str(missing) in str(refused.value)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="cannot read"):
        YunetDetector(model_path=str(garbage), model_sha256=None)


def test_yunet_describes_its_model_and_mapping(yunet):
    described = yunet.describe()
    assert described["name"] == "yunet" and described["model_path"] is None
    assert described["model_sha256"] == YUNET_SHA256
    assert described["mapping"]["side_h"] == YUNET_TO_HAAR.side_h


def test_one_shrink_rule_for_detectors_and_tracker():
    image = np.arange(360 * 640, dtype=np.uint32).reshape(360, 640).astype(np.uint8)
    small, scale = shrunk_to_side(image, 180, "shorter")
    assert small.shape == (180, 320) and scale == 0.5
    np.testing.assert_array_equal(small, scaled(image, 0.5))
    np.testing.assert_array_equal(
        small, cv2.resize(image, (320, 180), interpolation=cv2.INTER_AREA)
    )
    small, scale = shrunk_to_side(image, 320, "longer")
    assert small.shape == (180, 320) and scale == 0.5
    # At most that size already, or 0: the image itself, never enlarged.
    for side_px, side in ((360, "shorter"), (640, "longer"), (0, "shorter"), (0, "longer")):
        same, scale = shrunk_to_side(image, side_px, side)
        assert same is image and scale == 1.0
    # Each side rounds to the nearest pixel and keeps at least one.
    assert scaled(image, 1 / 3).shape == (120, 213)
    assert scaled(image[:2], 0.1).shape == (1, 64)


def test_yunet_gives_five_keypoints_with_each_face(video_frames, yunet):
    for frame in video_frames[::12]:
        faces, keypoints = yunet.detect_all_with_keypoints(frame)
        np.testing.assert_array_equal(faces, yunet.detect_all(frame))
        assert keypoints.shape == (1, len(YUNET_KEYPOINTS), 2) and keypoints.dtype == np.float32
        x1, y1, x2, y2 = faces[0, :4]
        points = dict(zip(YUNET_KEYPOINTS, keypoints[0], strict=True))
        assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in points.values())
        # The person's right eye and mouth corner are on the frame's left; eyes above the nose
        # tip, the nose tip above the mouth.
        assert points["right_eye"][0] < points["left_eye"][0]
        assert points["right_mouth_corner"][0] < points["left_mouth_corner"][0]
        eyes = max(points["right_eye"][1], points["left_eye"][1])
        mouth = min(points["right_mouth_corner"][1], points["left_mouth_corner"][1])
        assert eyes < points["nose_tip"][1] < mouth
    faces, keypoints = yunet.detect_all_with_keypoints(np.full_like(video_frames[0], 90))
    assert faces.shape == (0, 5) and keypoints.shape == (0, 5, 2)


def _as_recorded_before_the_rename(description):
    """A description as sessions recorded before the working size had a name per side hold it."""
    out = {("work_side_px" if k.endswith("side_px") else k): v for k, v in description.items()}
    if isinstance(out.get("scout"), dict):
        out["scout"] = _as_recorded_before_the_rename(out["scout"])
    return out


@pytest.mark.parametrize(("name", "side"), [("yunet", "long_side_px"), ("mtcnn", "short_side_px")])
def test_the_old_working_size_reads_as_the_side_it_limited(name, side):
    today = make_detector(name, detect_every=5, scout_side_px=90).describe()
    old = _as_recorded_before_the_rename(today)
    assert "work_side_px" in old and side not in old and side in today
    assert spelled_out(old) == today and list(spelled_out(old)) == list(today)
    rebuilt = detector_from_description(old)
    assert isinstance(rebuilt, FaceTracker) and rebuilt.describe() == today
    assert getattr(rebuilt.detector, side) == today[side]
    assert getattr(rebuilt.scout, side) == 90
    with pytest.warns(DeprecationWarning, match=side):
        assert getattr(make_detector(name, work_side_px=100), side) == 100
    with pytest.raises(ConfigError, match="work_side_px"):
        make_detector("haar", work_side_px=100)  # Haar never had a working size


def test_a_yunet_session_recorded_before_the_rename_replays_bit_for_bit(video_frames, tmp_path):
    from laetitia.app.replay import replay_session
    from laetitia.emoticon import PARAM_SPACE
    from laetitia.reward import reward_from
    from laetitia.sessions import SessionRecorder, load_session, new_meta

    meter = HappinessMeter.live("yunet")
    folder = tmp_path / "session"
    meta = new_meta(viewer={"kind": "video", "meter": meter.describe()}, seed=0)
    with SessionRecorder(folder, meta) as recorder:
        for start in (0, 40, 60):
            reaction = meter.read(video_frames[start : start + 5])
            recorder.record(0, reward_from(reaction).reward, PARAM_SPACE.defaults, reaction)
    recorded = json.loads((folder / "meta.json").read_text())
    detector = recorded["viewer"]["meter"]["detector"]
    recorded["viewer"]["meter"]["detector"] = _as_recorded_before_the_rename(detector)
    recorded["format_version"] = 2  # sessions from before the rename were written at version 2
    (folder / "meta.json").write_text(json.dumps(recorded))
    result = replay_session(folder, tmp_path / "out", progress=False)
    assert result.summary.exact and result.summary.same_detector
    source = load_session(folder)
    np.testing.assert_array_equal(result.session.frame_index.probs, source.frame_index.probs)
    np.testing.assert_array_equal(result.session.frame_index.boxes, source.frame_index.boxes)
