"""`laetitia.app.video`: sessions drawn into MP4 files, each checked by decoding it back.

The sessions are made here from synthetic frames (a grey frame with a checkerboard where the
face is), so every case but the last runs without the shared face media.
"""

import math

import numpy as np
import pytest

from laetitia.app.video import (
    END_HOLD_S,
    VideoConfig,
    WindowPainter,
    pixelate,
    session_timeline,
    write_session_video,
)
from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import ConfigError, SessionError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.sessions import SessionRecorder, load_session, new_meta
from laetitia.types import Reaction
from laetitia.viewers.live_window import (
    BACKGROUND,
    CURVE,
    EMOTICON_SIDE,
    GAUGE_FILL,
    MARGIN,
    PANEL,
    PREVIEW,
    WINDOW_SIZE,
)
from laetitia.viewers.simulated import SimulatedViewer

av = pytest.importorskip("av")

FRAME_SHAPE = (96, 160)
"""(height, width) of the synthetic camera frames."""
BOX = (60.0, 20.0, 40.0, 40.0)
"""Where the "face" is in them: a checkerboard of 4-pixel squares."""
WIDTH = 480
"""Width of the test videos: half the window."""
FPS = 10
FIRST_T, STEP_T, FRAME_DT, SETTLE = 1.0, 0.6, 0.1, 0.2
"""Step s is recorded at FIRST_T + s * STEP_T; its frames FRAME_DT apart, the last at that time."""
HAPPY_P = 0.8


def _frame():
    frame = np.full((*FRAME_SHAPE, 3), 128, np.uint8)
    x, y, w, h = (int(v) for v in BOX)
    yy, xx = np.mgrid[0:h, 0:w]
    frame[y : y + h, x : x + w] = (((yy // 4 + xx // 4) % 2) * 255)[:, :, None]
    return frame


def _camera_session(folder, steps=3, frames=2, keep_frames=True):
    """A video-viewer session: a face in every frame, recorded at known times."""
    viewer = {"kind": "video", "source": {"kind": "video"}, "frames": frames, "settle_s": SETTLE}
    recorder = SessionRecorder(folder, new_meta(keep_frames=keep_frames, viewer=viewer, seed=0))
    probs = np.full((frames, len(EMOTIONS)), (1 - HAPPY_P) / (len(EMOTIONS) - 1), np.float32)
    probs[:, EMOTIONS.index(HAPPY)] = HAPPY_P
    with recorder:
        for step in range(steps):
            reaction = Reaction(
                probs=probs,
                has_face=np.ones(frames, bool),
                boxes=np.tile(np.array(BOX, np.float32), (frames, 1)),
                frames=tuple(_frame() for _ in range(frames)),
                times_s=np.arange(frames) * FRAME_DT,
            )
            params = PARAM_SPACE.denormalize(np.full(len(PARAM_SPACE), -0.8 + 0.5 * step))
            recorder.record(0, HAPPY_P, params, reaction, t=FIRST_T + step * STEP_T)
    return folder


def _sim_session(folder, steps=4):
    viewer = SimulatedViewer(seed=0, frames=3)
    recorder = SessionRecorder(folder, new_meta(viewer=viewer.describe(), seed=0))
    rng = np.random.default_rng(0)
    with recorder:
        for _ in range(steps):
            params = PARAM_SPACE.denormalize(rng.uniform(-1, 1, len(PARAM_SPACE)))
            reaction = viewer.react(None, params)
            recorder.record(0, float(reaction.happiness().mean()), params, reaction)
    return folder


def _expected_frames(steps, frames=2, speed=1.0):
    start = FIRST_T - (frames - 1) * FRAME_DT - SETTLE  # the first emoticon: settle before
    end = FIRST_T + (steps - 1) * STEP_T
    return round((end - start) / speed * FPS) + round(END_HOLD_S * FPS)


def _decode(path):
    """The video's stream facts and its frames, RGB (H, W, 3)."""
    data = path.read_bytes()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height),
            "fps": float(stream.average_rate),
            "faststart": 0 <= data.find(b"moov") < data.find(b"mdat"),
        }
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return facts, frames


def _rect(rect, scale=WIDTH / WINDOW_SIZE[0], shrink=0.0):
    """A window rectangle (x, y, w, h) in video pixels as slices, shrunk on each side."""
    x, y, w, h = rect
    x, y, w, h = x + shrink * w, y + shrink * h, w * (1 - 2 * shrink), h * (1 - 2 * shrink)
    return slice(round(y * scale), round((y + h) * scale)), slice(
        round(x * scale), round((x + w) * scale)
    )


def _near(pixels, colour, tolerance=40):
    return np.all(np.abs(pixels.astype(int) - colour) <= tolerance, axis=-1)


def _curve_drawn(image):
    """Whether the reward curve has a line: gold, thinned to a pixel and its colour halved by
    yuv420p's chroma at half size, so told by warmth (red well above blue)."""
    region = image[_rect(CURVE)].astype(int)
    return ((region[..., 0] - region[..., 2] > 50) & (region[..., 0] > 150)).sum() > 20


def _box_drawn(image):
    """Whether the preview has the face box: green, thinned to a pixel, told by its greenness."""
    region = image[_rect(PREVIEW)].astype(int)
    return (region[..., 1] - np.maximum(region[..., 0], region[..., 2]) > 30).sum() > 50


def _face_in_window():
    """Where the synthetic frame's face box lands in the window (the preview's fit)."""
    height, width = FRAME_SHAPE
    scale = min(PREVIEW[2] / width, PREVIEW[3] / height)
    left = PREVIEW[0] + (PREVIEW[2] - round(width * scale)) // 2
    top = PREVIEW[1] + (PREVIEW[3] - round(height * scale)) // 2
    x, y, w, h = BOX
    return (left + x * scale, top + y * scale, w * scale, h * scale)


EMOTICON = (MARGIN, MARGIN, EMOTICON_SIDE, EMOTICON_SIDE)


def _emoticon_drawn(image):
    region = image[_rect(EMOTICON)]
    blank = _near(region, PANEL, 6) | _near(region, BACKGROUND, 6)
    return region.std() > 30 and blank.mean() < 0.2


def test_a_camera_session_plays_at_its_recorded_pace_with_the_face_box(tmp_path):
    session = _camera_session(tmp_path / "cam")
    out = tmp_path / "cam.mp4"
    result = write_session_video(VideoConfig(session, out, fps=FPS, width=WIDTH))
    facts, frames = _decode(out)
    assert facts == {
        "codec": "h264",
        "pix_fmt": "yuv420p",
        "size": (480, 300),
        "fps": FPS,
        "faststart": True,
    }
    assert len(frames) == result.frames == _expected_frames(steps=3)
    assert result.timed and result.images and result.steps == 3
    # A moment while step 1's frames are read: the emoticon, the frame and its face box.
    at = round((FIRST_T + STEP_T - (FIRST_T - FRAME_DT - SETTLE)) * FPS)
    image = frames[at]
    assert _emoticon_drawn(image)
    assert _box_drawn(image)
    assert image[_rect(_face_in_window(), shrink=0.25)].std() > 60  # the checkerboard, sharp
    # The emoticon changes with the step: step 0's differs from step 2's.
    first, last = frames[0][_rect(EMOTICON)], frames[-1][_rect(EMOTICON)]
    assert np.abs(first.astype(int) - last).mean() > 5
    assert _curve_drawn(frames[-1]) and not _curve_drawn(frames[0])  # the curve so far


def test_speed_divides_the_pace(tmp_path):
    session = _camera_session(tmp_path / "cam", steps=4)
    result = write_session_video(
        VideoConfig(session, tmp_path / "fast.mp4", speed=2.5, fps=FPS, width=320)
    )
    assert result.frames == _expected_frames(steps=4, speed=2.5)
    _, frames = _decode(result.path)
    assert len(frames) == result.frames and frames[0].shape == (200, 320, 3)


def test_blur_faces_pixelates_the_face(tmp_path):
    session = _camera_session(tmp_path / "cam")
    config = VideoConfig(session, tmp_path / "blur.mp4", fps=FPS, width=WIDTH, blur_faces=True)
    _, frames = _decode(write_session_video(config).path)
    face = _rect(_face_in_window(), shrink=0.25)
    assert all(image[face].std() < 12 for image in frames[5:])  # blocks of the squares' mean
    assert _box_drawn(frames[-1])  # the box is still drawn


def test_a_no_frames_session_shows_the_probabilities_where_the_frame_would_be(tmp_path):
    session = _camera_session(tmp_path / "private", keep_frames=False)
    assert not load_session(session).frames_kept
    result = write_session_video(VideoConfig(session, tmp_path / "p.mp4", fps=FPS, width=WIDTH))
    assert result.timed and not result.images
    facts, frames = _decode(result.path)
    assert facts["codec"] == "h264" and len(frames) == _expected_frames(steps=3)
    panel = frames[-1][_rect(PREVIEW)]
    # The happy bar: gold, as long as P(happy) of the bar's full length (names left, values right).
    gold = _near(panel, GAUGE_FILL, 45)
    bar = (PREVIEW[2] - 80 - 48) * WIDTH / WINDOW_SIZE[0]
    assert np.flatnonzero(gold.any(axis=0)).size == pytest.approx(HAPPY_P * bar, abs=6)
    assert (panel.max(axis=-1) > 200).sum() > 100  # the class names and values, in light text
    assert _emoticon_drawn(frames[-1])


def test_a_simulated_session_gives_each_step_a_fixed_time(tmp_path):
    session = _sim_session(tmp_path / "sim")
    config = VideoConfig(session, tmp_path / "sim.mp4", fps=FPS, width=WIDTH, sim_step_s=0.5)
    result = write_session_video(config)
    assert not result.timed and not result.images
    facts, frames = _decode(result.path)
    assert facts["codec"] == "h264" and facts["size"] == (480, 300)
    assert len(frames) == result.frames == 4 * 5 + round(END_HOLD_S * FPS)
    assert _emoticon_drawn(frames[0]) and _emoticon_drawn(frames[-1])
    assert np.abs(frames[2][_rect(EMOTICON)].astype(int) - frames[-1][_rect(EMOTICON)]).mean() > 5
    assert not _curve_drawn(frames[1]) and _curve_drawn(frames[-1])  # no reading, then four
    assert _near(frames[-1][_rect(PREVIEW)], GAUGE_FILL, 45).any()  # the step's mean P(happy)
    fast = write_session_video(VideoConfig(session, tmp_path / "f.mp4", speed=2, fps=FPS))
    assert fast.frames == 4 * 5 // 2 + round(END_HOLD_S * FPS)


def test_a_session_in_progress_is_drawn_up_to_its_last_completed_step(tmp_path):
    session = _camera_session(tmp_path / "live", steps=3)
    frames_csv, steps_csv = session / "frames.csv", session / "steps.csv"
    lines = frames_csv.read_text().splitlines()
    with frames_csv.open("a") as handle:  # the next step's frames are on disk, its row is not
        fields = lines[-1].split(",")
        fields[:2] = ["3", str(int(fields[1]) + 1)]
        handle.write(",".join(fields) + "\n")
    with steps_csv.open("a") as handle:
        handle.write("3,0,2.8,0.5")  # torn: no line end yet
    result = write_session_video(VideoConfig(session, tmp_path / "v.mp4", fps=FPS, width=320))
    assert result.steps == 3 and result.frames == _expected_frames(steps=3)
    assert len(_decode(result.path)[1]) == result.frames


def test_times_that_run_backwards_are_held(tmp_path):
    # Steps recorded 0.05 s apart with frames 0.1 s apart: each step's first frame is "before"
    # the step before it ended.
    folder = tmp_path / "fast"
    viewer = {"kind": "webcam", "settle_s": 0.0}
    with SessionRecorder(folder, new_meta(keep_frames=False, viewer=viewer)) as recorder:
        for step in range(4):
            reaction = Reaction(
                probs=np.full((3, len(EMOTIONS)), 1 / 7, np.float32),
                has_face=np.ones(3, bool),
                times_s=np.arange(3) * 0.1,
            )
            recorder.record(0, 0.5, PARAM_SPACE.defaults, reaction, t=1.0 + 0.05 * step)
    timeline = session_timeline(load_session(folder))
    times = [m.t for m in timeline.moments]
    assert times == sorted(times) and timeline.start_s == pytest.approx(0.8)
    assert timeline.end_s == pytest.approx(1.15)
    assert [m.kind for m in timeline.moments[:5]] == [
        "emoticon",
        "frame",
        "frame",
        "frame",
        "reading",
    ]


def test_pixelate_hides_the_face_box_and_a_whole_frame_without_a_face():
    frame = _frame()
    hidden = pixelate(frame, np.array(BOX))
    x, y, w, h = (int(v) for v in BOX)
    face, sharp = hidden[y : y + h, x : x + w], frame[y : y + h, x : x + w]
    assert face.std() < sharp.std() / 4  # 8-pixel blocks over 4-pixel squares: greys
    outside = np.ones(FRAME_SHAPE, bool)
    outside[max(0, y - 10) : y + h + 10, x - 10 : x + w + 10] = False
    np.testing.assert_array_equal(hidden[outside], frame[outside])  # the rest is untouched
    assert np.all(pixelate(frame, None) != frame, axis=-1).any()
    assert pixelate(frame, np.full(4, np.nan)).std() < frame.std() / 2
    assert frame[y, x].tolist() == [0, 0, 0]  # the input is not changed


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"speed": 0.0}, "speed"),
        ({"speed": -1.0}, "speed"),
        ({"speed": math.inf}, "speed"),
        ({"fps": 0}, "fps"),
        ({"sim_step_s": 0.0}, "sim_step_s"),
        ({"width": 481}, "width"),
        ({"width": 100}, "width"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(tmp_path, options, field):
    with pytest.raises(ConfigError) as caught:
        VideoConfig(tmp_path, tmp_path / "v.mp4", **options)
    assert caught.value.field == field and str(caught.value).startswith(field)


def test_bad_input_is_one_clear_error_and_leaves_nothing_at_out(tmp_path):
    out = tmp_path / "v.mp4"
    with pytest.raises(SessionError, match="not a session folder"):
        write_session_video(VideoConfig(tmp_path, out))
    empty = tmp_path / "empty"
    SessionRecorder(empty, new_meta(viewer={"kind": "sim"})).close()
    with pytest.raises(SessionError, match="no completed step"):
        write_session_video(VideoConfig(empty, out))
    session = _sim_session(tmp_path / "sim", steps=1)
    (tmp_path / "folder.mp4").mkdir()
    with pytest.raises(ConfigError, match="is a folder") as caught:
        write_session_video(VideoConfig(session, tmp_path / "folder.mp4"))
    assert caught.value.field == "out"
    with pytest.raises(ConfigError, match=r"\.mp4") as caught:
        write_session_video(VideoConfig(session, tmp_path / "v.avi"))
    assert caught.value.field == "out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "folder.mp4", "sim"]


def test_a_failure_while_encoding_leaves_the_old_file_or_none(tmp_path, monkeypatch):
    session = _sim_session(tmp_path / "sim", steps=2)
    out = tmp_path / "v.mp4"
    out.write_bytes(b"old video")
    drawn = WindowPainter.image
    calls = []

    def fail_at_the_fifth_frame(self):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return drawn(self)

    monkeypatch.setattr(WindowPainter, "image", fail_at_the_fifth_frame)
    with pytest.raises(KeyboardInterrupt):
        write_session_video(VideoConfig(session, out, width=320))
    assert out.read_bytes() == b"old video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim", "v.mp4"]


def test_a_real_camera_session_with_its_face_box_and_pixelated(fixtures_dir, tmp_path):
    from laetitia.app.training import TrainConfig, train

    config = TrainConfig(
        out=tmp_path / "cam",
        viewer=f"video:{fixtures_dir / 'single_face.mp4'}",
        steps=3,
        frames=2,
        settle_s=0.0,
        detector="haar",
    )
    session = train(config, progress=False).session
    index = session.frame_index
    assert index.has_face.all()
    sharp = write_session_video(VideoConfig(config.out, tmp_path / "s.mp4", width=WIDTH))
    blurred = write_session_video(
        VideoConfig(config.out, tmp_path / "b.mp4", width=WIDTH, blur_faces=True)
    )
    assert sharp.frames == blurred.frames and sharp.images
    facts, sharp_frames = _decode(sharp.path)
    _, blurred_frames = _decode(blurred.path)
    assert facts["codec"] == "h264" and facts["faststart"] and len(sharp_frames) == sharp.frames
    # The last frame's face box, in the window, then in the video.
    height, width = session.read_frames(2)[-1].shape[:2]
    scale = min(PREVIEW[2] / width, PREVIEW[3] / height)
    left = PREVIEW[0] + (PREVIEW[2] - round(width * scale)) // 2
    top = PREVIEW[1] + (PREVIEW[3] - round(height * scale)) // 2
    x, y, w, h = index.boxes[-1]
    face = _rect((left + x * scale, top + y * scale, w * scale, h * scale), shrink=0.2)

    def detail(image):
        return np.abs(np.diff(image[face].astype(int), axis=1)).mean()

    assert _box_drawn(sharp_frames[-1]) and _box_drawn(blurred_frames[-1])
    assert detail(blurred_frames[-1]) < detail(sharp_frames[-1]) / 2
