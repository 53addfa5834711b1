"""Personal calibration: spans, the fit, profiles, the report, the CLI, the privacy rule."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from laetitia.app.calibration import (
    NEUTRAL,
    SMILE,
    CalibrationConfig,
    CalibrationFrames,
    Prompt,
    Span,
    calibrate,
    check_spans,
    load_profile,
    parse_span,
    read_video_spans,
    record_prompted,
    save_profile,
)
from laetitia.app.calibration.fit import auc
from laetitia.app.calibration.one_face import face_jumps
from laetitia.app.calibration.window import WINDOW_SIZE, draw_prompt
from laetitia.errors import CalibrationError, LabelMismatchError, ProfileError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.types import Reaction

HAPPY_COL = EMOTIONS.index(HAPPY)
MODEL_ID = "a" * 64


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def person(
    smile_class: str = HAPPY, strength: float = 2.0, noise: float = 0.3, n: int = 40, seed: int = 0
) -> CalibrationFrames:
    """Frames of a person the model misreads: their resting face reads P(happy) ~ 0.5.

    Their smile raises the logit of `smile_class` (a smile the model reads as surprise, say)
    by `strength`; `noise` is the deviation of that logit and of P(happy)'s from frame to frame.
    """
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 0.3, (2 * n, len(EMOTIONS)))
    logits[:, HAPPY_COL] += 1.8 + rng.normal(0, noise, 2 * n)
    logits[n:, EMOTIONS.index(smile_class)] += strength + rng.normal(0, noise, n)
    spans = (Span(NEUTRAL, 0, 1), Span(SMILE, 1, 2))
    return CalibrationFrames(
        probs=softmax(logits),
        has_face=np.ones(2 * n, bool),
        boxes=np.zeros((2 * n, 4), np.float32),
        times_s=np.r_[np.linspace(0, 0.99, n), np.linspace(1, 1.99, n)],
        frame_index=np.arange(2 * n),
        span=np.r_[np.zeros(n, int), np.ones(n, int)],
        spans=spans,
        class_names=EMOTIONS,
    )


def fit(frames: CalibrationFrames, out: Path, keep_frames: bool = False):
    config = CalibrationConfig(out=out, keep_frames=keep_frames)
    return calibrate(frames, MODEL_ID, "test-model", {"name": "haar"}, config)


# ----- spans ----------------------------------------------------------------------------------


def test_parse_span_reads_seconds():
    span = parse_span("0-1.5", NEUTRAL)
    assert (span.kind, span.start_s, span.end_s) == (NEUTRAL, 0.0, 1.5)
    assert parse_span(" 2.5 - 4 ", SMILE).end_s == 4.0


@pytest.mark.parametrize("text", ["1.5-0", "2-2", "abc", "1.5", "-1-2", "1-2-3"])
def test_bad_time_ranges_are_clear_errors(text):
    with pytest.raises(CalibrationError, match=f"--{SMILE}"):
        parse_span(text, SMILE)


def test_end_before_start_says_so():
    with pytest.raises(CalibrationError, match="end must come after the start"):
        parse_span("3-1", NEUTRAL)


def test_spans_past_the_end_or_overlapping_are_refused():
    neutral, smile = parse_span("0-1", NEUTRAL), parse_span("2-3", SMILE)
    check_spans([neutral, smile], duration_s=3.0)
    with pytest.raises(CalibrationError, match="past the end of the recording"):
        check_spans([neutral, parse_span("2-3.5", SMILE)], duration_s=3.0)
    with pytest.raises(CalibrationError, match="overlaps"):
        check_spans([parse_span("0-2.5", NEUTRAL), smile])
    with pytest.raises(CalibrationError, match="smile has no span"):
        check_spans([neutral])


# ----- fit, report, profile -------------------------------------------------------------------


def test_calibration_brings_a_happy_looking_resting_face_to_zero(tmp_path):
    frames = person()
    result = fit(frames, tmp_path / "me.json")
    report = result.report
    assert report.raw_neutral > 0.4  # the domain gap: the resting face reads as happy
    assert report.calibrated_neutral < 0.1
    assert report.calibrated_smile > 0.8
    assert report.auc_calibrated >= report.auc_raw
    # Held-out figures only: the two halves of the split are disjoint and cover every face frame.
    assert report.held_out_neutral + report.fit_neutral == 40
    assert report.held_out_smile + report.fit_smile == 40
    assert report.held_out_neutral == report.fit_neutral == 20


def test_calibration_finds_a_smile_the_model_reads_as_another_class(tmp_path):
    report = fit(person(smile_class="surprise"), tmp_path / "me.json").report
    assert report.auc_raw < 0.75  # the raw P(happy) barely tells the smile from the rest
    assert report.auc_calibrated > 0.95
    assert report.calibrated_neutral < min(0.15, report.raw_neutral / 3)
    assert report.calibrated_smile > 0.8
    assert report.l2_logits < 1  # cross-validation let the other logits count


def test_with_little_signal_elsewhere_the_fit_keeps_the_raw_ranking(tmp_path):
    # Noise in the other logits and few frames: a free 8-weight fit would rank held-out frames
    # worse than the raw signal; cross-validation picks the heavy penalty instead.
    frames = person(strength=1.2, noise=0.4, n=20, seed=5)
    report = fit(frames, tmp_path / "me.json").report
    assert report.l2_logits >= 10
    assert report.auc_calibrated >= report.auc_raw


def test_profile_is_json_and_round_trips(tmp_path):
    result = fit(person(), tmp_path / "me.json")
    text = result.profile_path.read_text(encoding="utf-8")
    data = json.loads(text)  # plain JSON, no pickle
    assert data["model_identity"] == MODEL_ID
    assert data["features"] == "happy_log_odds+centered_logits"
    assert data["class_names"] == list(EMOTIONS)
    assert data["report"]["auc_calibrated"] == result.report.auc_calibrated
    loaded = load_profile(result.profile_path)
    assert loaded == result.profile
    save_profile(loaded, tmp_path / "again.json")
    assert load_profile(tmp_path / "again.json") == loaded


def test_profile_for_another_model_is_refused_naming_both(tmp_path):
    profile = fit(person(), tmp_path / "me.json").profile
    profile.check_model(MODEL_ID)
    other = "b" * 64
    with pytest.raises(ProfileError) as error:
        profile.check_model(other)
    assert MODEL_ID in str(error.value) and other in str(error.value)
    with pytest.raises(LabelMismatchError):
        profile.check_model(MODEL_ID, class_names=EMOTIONS[::-1])


def test_unreadable_profiles_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x80\x04\x95 pickled")
    with pytest.raises(ProfileError, match="not JSON"):
        load_profile(bad)
    data = fit(person(), tmp_path / "me.json").profile.to_dict()
    bad.write_text(json.dumps({**data, "surprise_key": 1}))
    with pytest.raises(ProfileError, match=f"{bad}: unknown key\\(s\\) 'surprise_key'"):
        load_profile(bad)
    bad.write_text(json.dumps({**data, "bias": "high"}))
    with pytest.raises(ProfileError, match=f"{bad}: 'bias' should be float, found 'high'"):
        load_profile(bad)
    bad.write_text(json.dumps({k: v for k, v in data.items() if k != "created"}))
    with pytest.raises(ProfileError, match=f"{bad}: the key 'created' of Profile is missing"):
        load_profile(bad)
    bad.write_text(json.dumps({**data, "weights": [1.0, 2.0]}))
    with pytest.raises(ProfileError, match="weights"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="laetitia calibrate"):
        load_profile(tmp_path / "missing.json")


def test_profile_replaces_the_signal_and_keeps_the_probabilities(tmp_path):
    frames = person()
    profile = fit(frames, tmp_path / "me.json").profile
    assert profile.signal == "fer-happy"
    probs = frames.probs.copy()
    probs[0] = np.nan  # a frame without a face
    has_face = np.ones(len(probs), bool)
    has_face[0] = False
    reaction = Reaction(probs=probs, has_face=has_face)
    calibrated = profile.calibrate(reaction)
    assert calibrated.class_names == EMOTIONS and calibrated.signal == "fer-happy"
    np.testing.assert_array_equal(calibrated.probs, probs)  # the model's own, as read
    assert np.isnan(calibrated.signal_values()[0])
    np.testing.assert_allclose(
        calibrated.signal_values()[1:], profile.smile_probability(probs[1:]), atol=1e-6
    )
    assert calibrated.extras["raw_signal"] == pytest.approx(reaction.mean_probs()[HAPPY_COL])
    # The same features from logits and from the probabilities they give.
    logits = np.log(frames.probs.astype(np.float64)) + 5.0
    np.testing.assert_allclose(
        profile.smile_probability_from_logits(logits),
        profile.smile_probability(frames.probs),
        atol=1e-5,
    )


def test_auc_counts_ties_half():
    assert auc(np.array([0.1, 0.2, 0.9, 0.8]), np.array([0, 0, 1, 1])) == 1.0
    assert auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert auc(np.array([0.3, 0.5, 0.5, 0.7]), np.array([0, 0, 1, 1])) == 0.875
    assert np.isnan(auc(np.array([0.1, 0.2]), np.array([1, 1])))  # one kind only: no AUC


def test_no_frames_writes_no_image(tmp_path):
    frames = person()
    images = tuple(np.full((8, 8, 3), 200, np.uint8) for _ in range(frames.n_frames))
    with_images = CalibrationFrames(**{**frames.__dict__, "images": images})
    kept = fit(with_images, tmp_path / "kept" / "me.json", keep_frames=True)
    assert kept.frames_dir is not None
    assert len(list(kept.frames_dir.glob("*.png"))) == frames.n_frames
    out = tmp_path / "private" / "me.json"
    result = fit(with_images, out, keep_frames=False)
    assert result.frames_dir is None
    written = sorted(p.name for p in out.parent.rglob("*"))
    assert written == ["me.frames.csv", "me.json", "me.report.json", "me.report.png"]
    assert "png" not in (out.parent / "me.frames.csv").read_text()


# ----- live: prompts and the window -----------------------------------------------------------


class FakeCamera:
    """A finite camera: frames whose brightness encodes their number."""

    fps = 10.0

    def __init__(self, n: int) -> None:
        self.n, self.i = n, 0

    def read(self):
        if self.i >= self.n:
            return None
        self.i += 1
        return np.full((6, 8, 3), self.i, np.uint8)

    def describe(self):
        return {"kind": "fake"}


class FakeMeter:
    """Reads a face in every frame; P(happy) is the frame's brightness / 100."""

    def read(self, frames, continues=False):
        n = len(frames)
        probs = np.full((n, len(EMOTIONS)), 0.0, np.float32)
        probs[:, HAPPY_COL] = [f[0, 0, 0] / 100 for f in frames]
        probs[:, EMOTIONS.index("neutral")] = 1 - probs[:, HAPPY_COL]
        return Reaction(probs=probs, has_face=np.ones(n, bool), boxes=np.ones((n, 4), np.float32))


class Recorder:
    def __init__(self):
        self.shown = []

    def show(self, frame, box, text, seconds_left):
        self.shown.append((text, round(seconds_left, 2)))


def test_prompted_recording_keeps_each_prompt_minus_its_settle_time():
    prompts = (Prompt(NEUTRAL, "neutral", 1.0), Prompt(SMILE, "smile", 1.0))
    display = Recorder()
    frames = record_prompted(
        FakeCamera(40), FakeMeter(), display, prompts, ready_s=0.5, settle_s=0.3
    )
    # 10 fps: ready 0-0.5 s, neutral kept 0.8-1.5 s, smile kept 1.8-2.5 s.
    assert frames.frame_index.tolist() == [*range(8, 15), *range(18, 25)]
    assert frames.labels.tolist() == [0] * 7 + [1] * 7
    assert frames.images is not None and len(frames.images) == 14
    assert [text for text, _ in display.shown[:5]] == ["Get ready: look at the camera"] * 5
    assert display.shown[5][0] == "neutral" and display.shown[-1][0] == "smile"


def test_prompted_recording_without_frames_keeps_no_image():
    prompts = (Prompt(NEUTRAL, "n", 1.0), Prompt(SMILE, "s", 1.0))
    frames = record_prompted(FakeCamera(40), FakeMeter(), None, prompts, 0.0, 0.2, False)
    assert frames.images is None


def test_a_camera_that_runs_out_is_a_clear_error():
    prompts = (Prompt(NEUTRAL, "n", 1.0), Prompt(SMILE, "s", 1.0))
    with pytest.raises(CalibrationError, match="ran out of frames"):
        record_prompted(FakeCamera(12), FakeMeter(), None, prompts, 0.0, 0.2)


def test_prompt_window_draws_headless():
    import pygame

    surface = pygame.Surface(WINDOW_SIZE)
    frame = np.zeros((120, 160, 3), np.uint8)
    draw_prompt(surface, frame, np.array([10, 10, 50, 50], np.float32), "Now smile!", 2.0)
    draw_prompt(surface, frame, None, "Keep a neutral face", 1.0)
    assert surface.get_at((5, 5))[:3] != (0, 0, 0)


# ----- the fixture: one real person -----------------------------------------------------------


@pytest.fixture(scope="module")
def single_face(fixtures_dir):
    return fixtures_dir / "single_face.mp4"


@pytest.fixture(scope="module")
def haar_meter():
    from laetitia.app.calibration import open_meter

    return open_meter("haar")


@pytest.fixture(scope="module")
def fixture_profile(single_face, haar_meter, tmp_path_factory):
    """single_face.mp4 calibrated from one neutral and one smiling span (Haar)."""
    # single_face.mp4, 30 fps: neutral in frames 0-17 (0-0.6 s), smiling from frame 20
    # (0.67 s) to 69 (2.3 s).
    meter = haar_meter
    spans = [parse_span("0-0.3", NEUTRAL), parse_span("0.8-1.5", SMILE)]
    frames = read_video_spans(single_face, spans, meter, keep_images=False)
    out = tmp_path_factory.mktemp("cal") / "me.json"
    config = CalibrationConfig(out=out, keep_frames=False)
    model = meter.model
    return calibrate(frames, model.identity, model.card.name, meter.detector.describe(), config)


def test_fixture_calibration_separates_at_least_as_well_and_rests_near_zero(
    single_face, haar_meter, fixture_profile
):
    report = fixture_profile.report  # held-out blocks of the two spans
    assert report.auc_calibrated >= report.auc_raw
    assert report.calibrated_neutral < 0.1
    # Frames outside both spans: the rest of the neutral stretch and of the smile.
    others = [parse_span("0.3-0.58", NEUTRAL), parse_span("1.5-2.25", SMILE)]
    held = read_video_spans(single_face, others, haar_meter, keep_images=False)
    faces = held.has_face
    labels = held.labels[faces]
    raw = held.raw_signal[faces]
    calibrated = fixture_profile.profile.smile_probability(held.probs[faces])
    assert auc(calibrated, labels) >= auc(raw, labels)
    assert calibrated[labels == 0].mean() < 0.1
    assert calibrated[labels == 1].mean() > 0.5


def test_fer_predict_with_a_profile_reports_calibrated_happiness(
    fixtures_dir, haar_meter, fixture_profile, tmp_path
):
    import csv

    import cv2

    from laetitia.cli import main

    image = fixtures_dir / "single_face.jpg"
    out = tmp_path / "cal.csv"
    args = ["--detector", "haar", "--csv", str(out), "--profile", str(fixture_profile.profile_path)]
    assert main(["fer", "predict", str(image), *args, "--signal", "fer-happy"]) == 0
    row = next(csv.DictReader(out.read_text().splitlines()))
    raw = haar_meter.read([cv2.imread(str(image))], related=False).probs
    expected = fixture_profile.profile.smile_probability(raw)[0]
    assert float(row["signal"]) == pytest.approx(expected, abs=1e-5)
    assert float(row["signal"]) != pytest.approx(float(raw[0, HAPPY_COL]), abs=1e-4)
    assert float(row[HAPPY]) == pytest.approx(float(raw[0, HAPPY_COL]), abs=1e-6)  # as read
    # A profile made for fer-happy means nothing for another signal: it is refused.
    assert main(["fer", "predict", str(image), *args]) == 2


def test_fer_predict_refuses_a_profile_for_another_model(
    fixtures_dir, fixture_profile, tmp_path, capsys
):
    from laetitia.cli import main

    data = fixture_profile.profile.to_dict()
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**data, "model_identity": "c" * 64}))
    image = str(fixtures_dir / "single_face.jpg")
    args = ["--detector", "haar", "--profile", str(other), "--signal", "fer-happy"]
    assert main(["fer", "predict", image, *args]) == 2
    error = capsys.readouterr().err
    assert "c" * 64 in error and fixture_profile.profile.model_identity in error


# ----- the command line -----------------------------------------------------------------------


def run_cli(*args: str) -> int:
    from laetitia.cli import main

    return main(["calibrate", *args])


def test_cli_from_a_video_writes_profile_report_and_frames(single_face, tmp_path, capsys):
    out = tmp_path / "me.json"
    spans = ["--neutral", "0-0.3", "--smile", "1-1.3", "--detector", "haar"]
    assert run_cli("--video", str(single_face), *spans, "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "ROC AUC" in printed and str(out) in printed
    profile = load_profile(out)
    assert profile.detector["name"] == "haar"
    assert profile.source["spans"][0] == {"kind": NEUTRAL, "start_s": 0.0, "end_s": 0.3}
    report = json.loads((tmp_path / "me.report.json").read_text())["report"]
    assert report["held_out_neutral"] > 0 and report["held_out_smile"] > 0
    assert (tmp_path / "me.report.png").read_bytes()[:4] == b"\x89PNG"
    rows = (tmp_path / "me.frames.csv").read_text().splitlines()[1:]
    assert len(list((tmp_path / "me.frames").glob("*.png"))) == len(rows) == 18
    # The default signal's profile: one feature, the smile's logit.
    assert profile.signal == "smile" and profile.features == "smile_logit"
    assert len(profile.weights) == 1


def test_a_smile_profile_calibrates_a_training_scored_by_smile_and_no_other(
    single_face, tmp_path, capsys
):
    from laetitia.cli import main
    from laetitia.sessions import load_session

    profile_path = tmp_path / "me.json"
    spans = ["--neutral", "0-0.3", "--smile", "1-1.3", "--detector", "haar", "--no-frames"]
    assert run_cli("--video", str(single_face), *spans, "--out", str(profile_path)) == 0
    profile = load_profile(profile_path)
    args = ["--viewer", f"video:{single_face}", "--profile", str(profile_path)]
    args += ["--steps", "3", "--frames", "4", "--settle", "0", "--no-window", "--no-frames"]
    assert main(["train", *args, "--signal", "fer-happy", "--out", str(tmp_path / "no")]) == 2
    assert "made for the signal smile" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert main(["train", *args, "--out", str(tmp_path / "run")]) == 0
    session = load_session(tmp_path / "run")
    assert session.meta.signal_name == "smile"
    assert session.meta.signal["calibrated_by"]["signal"] == "smile"
    index = session.frame_index
    face = index.has_face
    # Each frame's value is the profile's P(smile) of the blendshapes kept beside it.
    calibrated = profile.smile_probability(index.probs, index.measures)
    np.testing.assert_allclose(index.values[face], calibrated[face], atol=1e-6)
    assert session.steps["reward"][0] < 0.1  # the first frames see the neutral face


def test_cli_no_frames_writes_no_image_of_the_person(single_face, tmp_path):
    out = tmp_path / "me.json"
    spans = ["--neutral", "0-0.3", "--smile", "1-1.3", "--detector", "haar"]
    assert run_cli("--video", str(single_face), *spans, "--out", str(out), "--no-frames") == 0
    written = sorted(p.name for p in tmp_path.rglob("*"))
    assert written == ["me.frames.csv", "me.json", "me.report.json", "me.report.png"]


@pytest.mark.parametrize(
    ("neutral", "smile", "message"),
    [
        ("1-0.5", "1-1.3", "end must come after the start"),
        ("0-0.3", "2-3", "past the end of the recording"),
        ("0-1.2", "1-1.3", "overlaps"),
    ],
)
def test_cli_bad_time_ranges_are_clear_errors(
    single_face, tmp_path, capsys, neutral, smile, message
):
    out = tmp_path / "me.json"
    code = run_cli(
        "--video", str(single_face), "--neutral", neutral, "--smile", smile,
        "--detector", "haar", "--out", str(out),
    )  # fmt: skip
    assert code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_span_without_a_face_is_a_clear_error(fixtures_dir, tmp_path, capsys):
    out = tmp_path / "me.json"
    code = run_cli(
        "--video", str(fixtures_dir / "no_face.mp4"), "--neutral", "0-0.3", "--smile", "0.5-0.8",
        "--detector", "haar", "--out", str(out),
    )  # fmt: skip
    assert code == 2
    assert "no face was found in the neutral span 0-0.3" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_a_profile_name_must_end_in_json(tmp_path, capsys):
    out = tmp_path / "me.safetensors"
    assert run_cli("--video", "x.mp4", "--neutral", "0-1", "--smile", "1-2", "--out", str(out)) == 2
    assert "end its name with .json" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_spans_need_a_video(tmp_path, capsys):
    assert run_cli("--neutral", "0-1", "--out", str(tmp_path / "me.json")) == 2
    assert "--video" in capsys.readouterr().err


def test_cli_live_on_a_camera_with_no_face_writes_nothing(tmp_path, capsys):
    import cv2

    folder = tmp_path / "camera"
    folder.mkdir()
    for i in range(30):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((60, 80, 3), 8 * i, np.uint8))
    out = tmp_path / "out" / "me.json"
    args = ["--camera", str(folder), "--hold", "0.3", "--ready", "0", "--settle", "0.1"]
    assert run_cli(*args, "--detector", "haar", "--out", str(out)) == 2
    assert "no face was found in the neutral span" in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.expensive
def test_live_protocol_on_a_recording_stands_in_for_a_webcam(single_face, tmp_path):
    from laetitia.app.calibration import calibrate_live

    # The recording's own timing: neutral until 0.6 s, smiling from 0.67 s to 2.3 s.
    # Frames 3-17 are kept as neutral, 21-41 as smiling.
    prompts = (Prompt(NEUTRAL, "Keep a neutral face", 0.6), Prompt(SMILE, "Now smile!", 0.8))
    config = CalibrationConfig(out=tmp_path / "me.json", keep_frames=False)
    result = calibrate_live(
        str(single_face), config, detector="haar", prompts=prompts, ready_s=0.0, settle_s=0.1
    )
    assert result.profile.source["kind"] == "live"
    assert result.report.auc_calibrated >= result.report.auc_raw
    assert result.report.calibrated_neutral < 0.1


def test_a_failed_calibration_says_so(tmp_path):
    # A person whose smile hardly shows: nothing separates the spans.
    report = fit(person(strength=0.2, noise=0.6), tmp_path / "noisy.json").report
    assert any("poorly" in line for line in report.warnings())
    assert "warning" in report.summary()
    assert not fit(person(), tmp_path / "ok.json").report.warnings()


# ----- one person's face -----------------------------------------------------------------------


def test_a_face_read_that_jumps_as_if_another_person_were_read_is_reported(tmp_path):
    frames = person()
    rng = np.random.default_rng(0)
    steady = np.array([200, 120, 150, 150]) + rng.normal(0, 3, (frames.n_frames, 4))
    result = fit(dataclasses.replace(frames, boxes=steady.astype(np.float32)), tmp_path / "a.json")
    assert result.report.face_jumps == [] and not result.report.warnings()
    # Frames 50-54 of the smiling span read a larger face on the other side of the picture.
    boxes = steady.copy()
    boxes[50:55] = [480, 60, 240, 240]
    result = fit(dataclasses.replace(frames, boxes=boxes.astype(np.float32)), tmp_path / "b.json")
    jumps = result.report.face_jumps
    assert [jump["t_s"] for jump in jumps] == [round(frames.times_s[i], 4) for i in (50, 55)]
    assert all(jump["span"] == "smile 1-2" for jump in jumps)
    warning = [line for line in result.report.warnings() if "another person in view" in line]
    assert warning and "2 time(s)" in warning[0] and "warning" in result.report.summary()
    saved = json.loads(result.report_json.read_text())["report"]
    assert saved["face_jumps"] == jumps


def test_the_fixtures_one_man_reads_as_one_face_and_a_false_face_as_a_jump(
    fixtures_dir, haar_meter, fixture_profile
):
    assert fixture_profile.report.face_jumps == []  # single_face.mp4: one man throughout
    # noface_face.mov: Haar takes a shape on the title card for a face, then finds the man.
    spans = [parse_span("0-3", NEUTRAL), parse_span("3-6.3", SMILE)]
    frames = read_video_spans(fixtures_dir / "noface_face.mov", spans, haar_meter, False)
    jumps = face_jumps(frames)
    assert len(jumps) == 1 and jumps[0]["span"] == "smile 3-6.3"
    assert jumps[0]["size_ratio"] > 3


# ----- the profile in training ----------------------------------------------------------------


def test_train_with_a_profile_rewards_the_calibrated_signal(single_face, fixture_profile, tmp_path):
    from laetitia.cli import main
    from laetitia.sessions import load_session

    profile_path = str(fixture_profile.profile_path)
    out = tmp_path / "run"
    args = ["--viewer", f"video:{single_face}", "--detector", "haar", "--profile", profile_path]
    args += ["--steps", "2", "--frames", "4", "--settle", "0", "--no-window", "--no-frames"]
    assert main(["train", *args, "--out", str(out), "--signal", "fer-happy"]) == 0
    session = load_session(out)
    assert session.meta.config["profile"] == profile_path
    described = session.meta.viewer["meter"]["profile"]
    assert described["model_identity"] == fixture_profile.profile.model_identity
    # The first steps see the neutral face: the calibrated reward rests near zero.
    assert session.steps["reward"][0] < 0.1


@pytest.mark.parametrize("viewer", ["sim", "other-model"])
def test_train_refuses_a_profile_it_cannot_use(
    fixture_profile, single_face, tmp_path, capsys, viewer
):
    from laetitia.cli import main

    profile = fixture_profile.profile_path
    if viewer == "other-model":
        profile = tmp_path / "other.json"
        data = fixture_profile.profile.to_dict()
        profile.write_text(json.dumps({**data, "model_identity": "d" * 64}))
        viewer = f"video:{single_face}"
    out = tmp_path / "run"
    args = ["--viewer", viewer, "--profile", str(profile), "--steps", "1", "--out", str(out)]
    assert main(["train", *args, "--signal", "fer-happy"]) == 2
    assert "profile" in capsys.readouterr().err
    assert not out.exists()


def test_cli_never_overwrites_an_earlier_calibration(tmp_path, capsys):
    out = tmp_path / "me.json"
    (tmp_path / "me.report.json").write_text("{}")
    assert run_cli("--neutral", "0-1", "--smile", "2-3", "--video", "x.mp4", "--out", str(out)) == 2
    assert "would overwrite an earlier calibration" in capsys.readouterr().err
    assert (tmp_path / "me.report.json").read_text() == "{}"


def test_cli_live_without_a_webcam_says_what_to_do(tmp_path, capsys):
    out = tmp_path / "me.json"
    assert run_cli("--camera", "99", "--detector", "haar", "--out", str(out)) == 2
    error = capsys.readouterr().err
    assert "--camera 99" in error and "--video" in error and "--neutral" in error
    assert not out.exists()
