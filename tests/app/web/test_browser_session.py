"""A participant in a real browser: headless Chromium's fake camera plays each fixture video.

`laetitia train --viewer browser` (here `train` with the viewer `browser:127.0.0.1:0`) serves
the participant's page; Chromium opens it, its camera plays a fixture video written as a y4m
with each frame's number stamped in a corner, and the session records every step with its
frames. Each recorded frame's stamp says which source frame it was, so each step's reading is
compared with the same meter reading those source frames as one group, as the step read them
(the honest reference: a whole-video `fer predict` tracks across frames a step detects afresh,
and the meter's template tracker drifts under a JPEG round trip alone; both meters detect on
every frame here, so what is compared is the browser's path, not the tracker's luck).

One Chromium per video: the fake camera's file is fixed per browser process.
"""

import queue
import threading
import time

import numpy as np
import pytest
from browser_tools import CHROMEDRIVER, CHROMIUM, chromium, needs, read_stamp, stamp, stamp_video

from laetitia.app.training import TrainConfig, train
from laetitia.meter import HappinessMeter
from laetitia.sessions import load_session
from laetitia.sessions.layout import STEPS_FILE

FPS = {"single_face.mp4": 5, "noface_face.mov": 15, "face_noface.mov": 15}
"""The y4m's rate per video: each plays through in about the 10 steps of a session (the fake
camera loops, showing frame 0 twice at each turn)."""
STEPS = 10
FRAMES = 5
SETTLE_S = 0.2
TOLERANCE = 0.05
"""How far a step's reading may be from the same meter on the same source frames."""
TIMEOUT_S = 120


def one_meter():
    """A live meter that detects on every frame (the session's and the reference's alike)."""
    return HappinessMeter.live(detect_every=1)


def browser_session(tmp_path, monkeypatch, fixtures_dir, video, during=None):
    """Run a `browser` training session with Chromium's camera playing `video`.

    Returns the session folder and the stamped source frames.
    """
    needs(CHROMIUM, CHROMEDRIVER)
    source = stamp_video(fixtures_dir / video, tmp_path / "camera.y4m", FPS[video])
    monkeypatch.setattr("laetitia.app.web.session.make_meter", lambda *_: one_meter)
    said = queue.Queue()
    config = TrainConfig(
        out=tmp_path / "session",
        agent="hill-climb",
        viewer="browser:127.0.0.1:0",
        steps=STEPS,
        frames=FRAMES,
        settle_s=SETTLE_S,
    )
    ran = {}

    def run():
        try:
            ran["result"] = train(config, progress=False, log=said.put)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            ran["error"] = error

    with chromium(tmp_path / "camera.y4m") as driver:
        session = threading.Thread(target=run, daemon=True)
        session.start()
        url = said.get(timeout=TIMEOUT_S)
        assert url.startswith("participant: http://127.0.0.1:")
        driver.get(url.removeprefix("participant: "))
        if during is not None:
            during(driver, config.out)
        session.join(TIMEOUT_S)
    assert not session.is_alive(), "the session did not complete"
    if "error" in ran:
        raise ran["error"]
    return config.out, source


def compare_with_source(folder, source):
    """Per step: the stamps read, the recorded reading and the reference's; checks the frames."""
    session = load_session(folder)
    meter = one_meter()
    assert session.n_steps == STEPS
    rows = []
    for step in range(STEPS):
        frames = session.read_frames(step)
        assert len(frames) == FRAMES
        stamps = [read_stamp(frame) for frame in frames]
        assert None not in stamps, f"step {step}: a frame's stamp does not read"
        pairs = zip(stamps, stamps[1:], strict=False)
        in_order = all(b >= a or (a, b) == (len(source) - 1, 0) for a, b in pairs)
        assert in_order, f"step {step}: frames out of capture order {stamps}"
        recorded = session.reaction(step)
        reference = meter.read([source[s] for s in stamps])
        np.testing.assert_array_equal(recorded.has_face, reference.has_face)
        got, want = session.steps["happy"][step], np.nan
        if reference.n_faces:
            want = float(np.mean(reference.happiness()[reference.has_face]))
            assert abs(got - want) <= TOLERANCE, f"step {step} (frames {stamps}): {got} vs {want}"
        else:
            assert np.isnan(got)
        rows.append((stamps, got, want))
    return rows


def read_the_page(driver, folder):
    """The participant's page shows the emoticon alone: nothing else is visible on it."""
    wait_for_steps(folder, 1)
    visible = driver.execute_script(
        "return [...document.body.querySelectorAll('*')].filter(e => e.offsetWidth > 1"
        " && getComputedStyle(e).opacity > 0 && getComputedStyle(e).display !== 'none'"
        " && getComputedStyle(e).visibility !== 'hidden').map(e => e.id || e.tagName)"
    )
    assert visible == ["stage", "emoticon"], visible
    assert driver.execute_script("return document.body.innerText.trim()") == ""


def reload_during_a_step(driver, folder):
    """The participant's page is reloaded while step 3 is on screen."""
    wait_for_steps(folder, 3)
    time.sleep(0.1)  # step 3 is on screen, settling
    driver.refresh()


def wait_for_steps(folder, n):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        steps = folder / STEPS_FILE
        if steps.is_file() and len(steps.read_text().splitlines()) - 1 >= n:
            return
        time.sleep(0.05)
    pytest.fail(f"the session did not record {n} steps in {TIMEOUT_S} s")


DURING = {
    "single_face.mp4": read_the_page,
    "noface_face.mov": None,
    "face_noface.mov": reload_during_a_step,
}
"""What happens during each video's session, besides the reading (one Chromium per video)."""


@pytest.mark.expensive
@pytest.mark.parametrize("video", sorted(FPS))
def test_a_browser_participant_is_read_as_the_same_meter_reads_the_source(
    video, tmp_path, monkeypatch, fixtures_dir
):
    folder, source = browser_session(tmp_path, monkeypatch, fixtures_dir, video, DURING[video])
    rows = compare_with_source(folder, source)  # every step with its frames, each within 0.05
    if video == "single_face.mp4":
        # The video's neutral face, then its smile, as the session read them.
        early = [got for stamps, got, _ in rows if max(stamps) < 10]
        late = [got for stamps, got, _ in rows if min(stamps) > 36]
        assert early and late, rows
        assert max(early) < 0.1 and min(late) > 0.6, rows  # about 0.005, then 0.8 to 0.97
    if video == "face_noface.mov":
        # The page reloaded mid-session and the session resumed with it, losing no step: the
        # reloaded page opened its camera afresh (the fake camera played from frame 0 again),
        # and no step mixes frames of the two pages.
        firsts = [stamps[0] for stamps, _, _ in rows]
        restarts = [i for i in range(1, STEPS) if firsts[i] < firsts[i - 1]]
        assert len(restarts) == 1 and restarts[0] >= 3, firsts


def test_a_stamp_survives_jpeg():
    import cv2

    frame = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    for number in (0, 1, 71, 4095):
        sent = cv2.imdecode(
            cv2.imencode(".jpg", stamp(frame, number), [cv2.IMWRITE_JPEG_QUALITY, 80])[1],
            cv2.IMREAD_COLOR,
        )
        assert read_stamp(sent) == number
    assert read_stamp(frame) is None
