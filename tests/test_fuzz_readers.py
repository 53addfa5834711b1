"""Every reader of a file a user hands laetitia, fed damaged copies: a typed error, nothing written.

Each reader gets a valid file, mutated by hypothesis: cut short at any byte, bytes flipped,
garbage or non-UTF-8 bytes inserted, a line duplicated, deleted or swapped with the next. The
reader must either read it (a mutation can leave a valid file) or raise a `LaetitiaError` (the
CLI prints those as one line), never another exception, and must not change any file.

The examples are derandomised, so a failure reproduces; `LAETITIA_FUZZ_EXAMPLES` sets how many
per reader (default 40; BENCHMARKS.md reports a longer run).
"""

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import noise_video

from laetitia.emoticon.params import PARAM_SPACE
from laetitia.errors import LaetitiaError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.sessions import SessionRecorder, load_session, new_meta
from laetitia.types import Reaction

EXAMPLES = int(os.environ.get("LAETITIA_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with one to three damages of the kinds a disk, a crash or an editor makes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cut", "flip", "insert", "dup", "drop", "swap", "binary"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        lines = bytes(out).split(b"\n")
        line = draw(st.integers(0, max(len(lines) - 1, 0)))
        if kind == "cut":
            del out[at:]
        elif kind == "flip" and out:
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "binary":
            out[at:at] = b"\xff\xfe\x00\x80"
        elif kind == "dup":
            lines.insert(line, lines[line])
            out = bytearray(b"\n".join(lines))
        elif kind == "drop" and len(lines) > 1:
            del lines[line]
            out = bytearray(b"\n".join(lines))
        elif kind == "swap" and line + 1 < len(lines):
            lines[line], lines[line + 1] = lines[line + 1], lines[line]
            out = bytearray(b"\n".join(lines))
    return bytes(out)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _reads_or_refuses(read, folder: Path) -> None:
    """`read()` returns or raises a LaetitiaError, and no file under `folder` changes."""
    before = _hashes(folder)
    try:
        read()
    except LaetitiaError as error:
        assert str(error)  # a message to print
    assert _hashes(folder) == before


def _reaction(rng: np.random.Generator, n: int = 3) -> Reaction:
    probs = rng.dirichlet(np.ones(len(EMOTIONS)), size=n).astype(np.float32)
    has_face = np.array([True] * (n - 1) + [False])
    probs[~has_face] = np.nan
    boxes = np.tile(np.array([10, 10, 20, 20], np.float32), (n, 1))
    boxes[~has_face] = np.nan
    frames = tuple(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8) for _ in range(n))
    return Reaction(probs=probs, has_face=has_face, boxes=boxes, frames=frames)


@pytest.fixture(scope="module")
def session_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("session") / "s"
    rng = np.random.default_rng(0)
    meta = new_meta(agent="hill-climb", viewer={"kind": "video"}, seed=0)
    with SessionRecorder(folder, meta) as recorder:
        for step in range(4):
            recorder.record(step // 2, 0.5, PARAM_SPACE.defaults, _reaction(rng))
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} | {"frames": folder}


@pytest.mark.parametrize("name", ["steps.csv", "frames.csv", "meta.json"])
def test_a_damaged_session_table_or_record_is_read_or_refused(session_files, tmp_path, name):
    @FUZZ
    @given(data=st.data())
    def check(data):
        folder = tmp_path / "case"
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(session_files["frames"], folder)
        (folder / name).write_bytes(data.draw(mutated(session_files[name])))
        _reads_or_refuses(lambda: load_session(folder), folder)

    check()


@pytest.fixture(scope="module")
def profile_bytes(tmp_path_factory) -> bytes:
    from laetitia.app.calibration import CalibrationConfig, calibrate
    from laetitia.app.calibration.frames import CalibrationFrames
    from laetitia.app.calibration.spans import NEUTRAL, SMILE, Span

    rng = np.random.default_rng(0)
    n = 40
    logits = rng.normal(0, 0.3, (2 * n, len(EMOTIONS)))
    logits[n:, EMOTIONS.index(HAPPY)] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frames = CalibrationFrames(
        probs=probs,
        has_face=np.ones(2 * n, bool),
        boxes=np.zeros((2 * n, 4), np.float32),
        times_s=np.r_[np.linspace(0, 0.99, n), np.linspace(1, 1.99, n)],
        frame_index=np.arange(2 * n),
        span=np.r_[np.zeros(n, int), np.ones(n, int)],
        spans=(Span(NEUTRAL, 0, 1), Span(SMILE, 1, 2)),
        class_names=EMOTIONS,
    )
    out = tmp_path_factory.mktemp("profile") / "me.json"
    result = calibrate(frames, "0" * 64, "test-model", {"name": "haar"}, CalibrationConfig(out))
    return result.profile_path.read_bytes()


def test_a_damaged_profile_is_read_or_refused(profile_bytes, tmp_path):
    from laetitia.profile import load_profile

    @FUZZ
    @given(data=st.data())
    def check(data):
        path = tmp_path / "me.json"
        path.write_bytes(data.draw(mutated(profile_bytes)))
        _reads_or_refuses(lambda: load_profile(path), tmp_path)

    check()


def test_a_damaged_model_file_is_loaded_or_refused(tmp_path):
    from laetitia.fer import default_model_path, load_model

    shipped = default_model_path().read_bytes()
    # Damage the header and the first weights, where a mutation says most about the reader;
    # the rest of the file is copied as it is.
    head, rest = shipped[:4096], shipped[4096:]

    @settings(FUZZ, max_examples=max(EXAMPLES // 2, 10))
    @given(data=st.data())
    def check(data):
        path = tmp_path / "model.safetensors"
        path.write_bytes(data.draw(mutated(head)) + rest)
        _reads_or_refuses(lambda: load_model(path), tmp_path)

    check()


def test_a_damaged_fer2013_csv_is_read_or_refused(tmp_path):
    from laetitia.fer.data import load_faces

    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"]
    for i in range(6):
        pixels = " ".join(str(v) for v in rng.integers(0, 256, 48 * 48))
        rows.append(f"{i % 7},{pixels},{'Training' if i < 4 else 'PublicTest'}")
    good = ("\n".join(rows) + "\n").encode()

    @FUZZ
    @given(data=st.data())
    def check(data):
        path = tmp_path / "fer2013.csv"
        path.write_bytes(data.draw(mutated(good)))
        _reads_or_refuses(lambda: load_faces(path, EMOTIONS, 64), tmp_path)

    check()


def test_a_damaged_image_in_a_class_folder_is_read_or_refused(tmp_path):
    from laetitia.fer.data import load_faces

    rng = np.random.default_rng(0)
    ok, png = cv2.imencode(".png", rng.integers(0, 255, (48, 48), dtype=np.uint8))
    good = png.tobytes()
    for name in ("happy", "sad"):
        (tmp_path / "data" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "data" / name / "a.png"), np.full((48, 48), 99, np.uint8))
    (tmp_path / "data" / "happy" / "empty.png").write_bytes(b"")  # a 0-byte image
    _reads_or_refuses(lambda: load_faces(tmp_path / "data", ("happy", "sad"), 64), tmp_path)

    @FUZZ
    @given(data=st.data())
    def check(data):
        (tmp_path / "data" / "happy" / "empty.png").write_bytes(data.draw(mutated(good)))
        _reads_or_refuses(lambda: load_faces(tmp_path / "data", ("happy", "sad"), 64), tmp_path)

    check()


def test_a_damaged_video_is_read_or_refused(tmp_path):
    from laetitia.cameras import VideoFile

    good = noise_video(tmp_path / "clip.avi", 12).read_bytes()

    def read_all(path: Path) -> None:
        video = VideoFile(path)
        try:
            while video.read() is not None:
                pass
        finally:
            video.close()

    @settings(FUZZ, max_examples=max(EXAMPLES // 2, 10))
    @given(data=st.data())
    def check(data):
        path = tmp_path / "damaged.avi"
        path.write_bytes(data.draw(mutated(good)))
        _reads_or_refuses(lambda: read_all(path), tmp_path)

    check()


HOSTILE_JSON = {
    "nested lists": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "a number of 100000 digits": b'{"seed": ' + b"9" * 100_000 + b"}",
    "huge": b'{"parameter_space": [' + b"0," * 8_500_000 + b'0], "class_names": []}',
}
"""JSON made to exhaust a reader: deeper than any recursion, a number too long to convert, and
a file of 17 MB (more than any record but an agent's state may hold)."""


def _json_readers(session_files, tmp_path):
    """Each JSON file laetitia reads, with a reader: where the file goes, and how it is read."""
    import shutil

    from laetitia.agents.base import read_agent_document
    from laetitia.app.agent_settings import agent_args_with_file
    from laetitia.app.prior import load_prior
    from laetitia.app.study.participants import Participant, read_record
    from laetitia.profile import load_profile
    from laetitia.sessions.best import read_best

    session = tmp_path / "session"
    shutil.rmtree(session, ignore_errors=True)
    shutil.copytree(session_files["frames"], session)
    (session / "agent").mkdir(exist_ok=True)
    (session / "prior").mkdir(exist_ok=True)
    (session / "prior" / "prior.safetensors").write_bytes(b"")
    return {
        "meta.json": (session / "meta.json", lambda: load_session(session)),
        "best.json": (session / "best.json", lambda: read_best(load_session(session))),
        "agent.json": (
            session / "agent/agent.json",
            lambda: read_agent_document(session / "agent"),
        ),
        "prior.json": (
            session / "prior/prior.json",
            lambda: load_prior(session / "prior", PARAM_SPACE),
        ),
        "profile": (tmp_path / "me.json", lambda: load_profile(tmp_path / "me.json")),
        "agent settings": (
            tmp_path / "settings.json",
            lambda: agent_args_with_file("hill-climb", tmp_path / "settings.json", {}),
        ),
        "a study's participant": (
            tmp_path / "participant.json",
            lambda: read_record(tmp_path / "participant.json", Participant),
        ),
    }


@pytest.mark.parametrize("kind", sorted(HOSTILE_JSON))
def test_deeply_nested_or_huge_json_is_refused_in_one_line_by_every_reader(
    session_files, tmp_path, kind
):
    for name in _json_readers(session_files, tmp_path):
        path, read = _json_readers(session_files, tmp_path)[name]  # each on a fresh copy
        path.write_bytes(HOSTILE_JSON[kind])
        with pytest.raises(LaetitiaError) as refused:
            _reads_or_refuses(read, tmp_path)
            read()
        assert "\n" not in str(refused.value), f"{name}: {refused.value}"
        assert len(str(refused.value)) < 1000, f"{name}: the message quotes the file"
