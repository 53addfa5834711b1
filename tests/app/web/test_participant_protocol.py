"""A participant in the browser without a browser: Starlette's TestClient plays the page.

The training side calls the live viewer as `laetitia train`'s loop would; the fake page, in a
thread of its own, answers the clock pings, says when it drew each emoticon (on a clock of its
own that starts at 0 ms) and sends frames with capture times on that clock. These tests run
everywhere (no Chromium).
"""

import json
import threading
import time

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from laetitia.app.web.participant import ParticipantServer, participant_app
from laetitia.app.web.protocol import FrameHeader, frame_message
from laetitia.app.web.server import Access
from laetitia.cameras import BrowserCamera
from laetitia.errors import SessionEndedByUser, WebServerError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.signals import FER_HAPPY, get_signal
from laetitia.types import Reaction
from laetitia.viewers.browser import BrowserStage
from laetitia.viewers.control import SessionControl
from laetitia.viewers.live import LiveViewer
from laetitia.viewers.stage import Screen

# TestClient's websocket_connect sends Host "testserver" whatever its base_url; a loopback
# server refuses that (DNS rebinding), so the tests name the loopback.
LOOPBACK = {"host": "127.0.0.1:8770"}
EMOTICON = np.full((32, 32, 3), 200, np.uint8)
PARAMS = np.zeros(3)
SETTLE_S = 0.2
IDLE = 5
"""The brightness of the frames the page streams while no emoticon waits for its frames."""


class BrightnessMeter:
    """Reads a frame's brightness as P(happy): which frames a step read is visible."""

    signal = get_signal(FER_HAPPY)

    def read(self, frames):
        probs = np.zeros((len(frames), len(EMOTIONS)), np.float32)
        probs[:, EMOTIONS.index(HAPPY)] = [round(float(f.mean())) for f in frames]
        return Reaction(probs=probs, has_face=np.ones(len(frames), bool), frames=tuple(frames))

    def describe(self):
        return {"meter": "brightness"}


def jpeg(value):
    return cv2.imencode(".jpg", np.full((24, 32, 3), value, np.uint8))[1].tobytes()


class FakePage:
    """The participant's page as participant.js behaves, minus the pixels.

    It streams IDLE frames every 20 ms until an emoticon is shown; `on_show(page, message)`
    then decides what it answers (by default: drawn now, and `frames` after it).
    """

    opened: list["FakePage"] = []
    """Every page a test opened: the session fixture closes those a failing test left open,
    so a failure ends the test instead of leaving the server waiting on a page forever."""

    def __init__(self, client, on_show=None, frames=()):
        FakePage.opened.append(self)
        self.closed = threading.Event()
        self._context = client.websocket_connect("/ws", headers=LOOPBACK)
        self.ws = self._context.__enter__()
        self.t0 = time.monotonic()
        self.seq = 0
        self.received = []
        self.on_show = on_show or FakePage.draw_and_send
        self.frames = frames
        hello = self.ws.receive_json()
        assert hello["type"] == "hello" and hello["protocol"] == 1
        self.generation = hello["generation"]
        self.ws.send_json({"type": "camera", "ok": True, "settings": {"width": 32}})
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._stream, daemon=True).start()

    def now_ms(self):
        return (time.monotonic() - self.t0) * 1000

    def send_frame(self, t_ms, value):
        header = FrameHeader(seq=self.seq, t=t_ms, t_kind="captureTime", w=32, h=24)
        self.seq += 1
        self.ws.send_bytes(frame_message(header, jpeg(value)))

    def draw_and_send(self, message):
        """Drawn now; then the frames `self.frames` as (ms after drawn, brightness)."""
        drawn = self.now_ms()
        self.ws.send_json({"type": "drawn", "show_id": message["show_id"], "t_page": drawn})
        for dt, value in self.frames:
            self.send_frame(drawn + dt, value)

    def kinds(self):
        return [m["type"] for m in self.received if m["type"] != "ping"]

    def close(self):
        if self.closed.is_set():
            return
        self.idle.clear()
        self.closed.set()
        self._context.__exit__(None, None, None)

    def _receive(self):
        while not self.closed.is_set():
            try:
                message = self.ws.receive()
            except Exception:  # noqa: BLE001 - the session was closed under the thread
                return
            if message["type"] != "websocket.send":
                return
            data = json.loads(message["text"])
            self.received.append(data)
            if data["type"] == "ping":
                self.ws.send_json({"type": "pong", "t0": data["t0"], "t_page": self.now_ms()})
            elif data["type"] == "show":
                self.idle.clear()
                self.on_show(self, data)

    def _stream(self):
        while not self.closed.is_set():
            if self.idle.is_set():
                self.send_frame(self.now_ms(), IDLE)
            time.sleep(0.02)


@pytest.fixture
def session():
    control = SessionControl()
    camera = BrowserCamera(timeout_s=1.0)
    stage = BrowserStage(camera, control, Screen("participant"))
    viewer = LiveViewer(
        camera, BrightnessMeter(), frames=3, settle_s=SETTLE_S, stage=stage, source={"kind": "x"}
    )
    app = participant_app(stage, Access.for_bind("127.0.0.1", tls=False, field="viewer"))
    with TestClient(app, base_url="http://127.0.0.1:8770") as client:
        try:
            yield client, viewer, stage, control
        finally:
            control.end("test")
            while FakePage.opened:
                FakePage.opened.pop().close()


def react(viewer, control, timeout_s=15.0):
    """viewer.react in a thread (the training loop); ends the session if it hangs."""
    result = {}

    def run():
        try:
            result["reaction"] = viewer.react(EMOTICON, PARAMS)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            result["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        control.end("test")
        worker.join(5)
        pytest.fail(f"the step did not complete in {timeout_s} s")
    if "error" in result:
        raise result["error"]
    return result["reaction"]


def test_a_step_reads_the_frames_captured_settle_s_after_the_page_drew_it(session):
    client, viewer, stage, control = session
    # Sent in this order: two arrive out of capture order (two encodes in flight).
    frames = [(-50, 11), (0, 22), (100, 33), (199, 44), (250, 66), (200, 55), (300, 77)]
    page = FakePage(client, frames=frames)
    reaction = react(viewer, control)
    page.close()
    # The first three frames taken at or after drawn + 200 ms, in capture order.
    np.testing.assert_allclose(reaction.happiness(), [55, 66, 77], atol=3)
    assert viewer.restarts == 0
    # Their times are on the session's clock (through the clock sync), 50 ms apart.
    np.testing.assert_allclose(np.diff(reaction.times_s), [0.05, 0.05], atol=0.01)
    assert stage.camera.clock.ready and stage.camera.clock.uncertainty_s < 0.05
    shows = [m for m in page.received if m["type"] == "show"]
    assert len(shows) == 1 and shows[0]["image"].startswith("data:image/png;base64,")


def test_a_page_reloaded_mid_step_gets_the_step_again_and_none_is_lost(session):
    client, viewer, stage, control = session
    reloaded = {}

    def leave_before_the_frames(page, message):
        # The page draws the emoticon, then reloads before the settle time is over.
        page.ws.send_json({"type": "drawn", "show_id": message["show_id"], "t_page": page.now_ms()})
        closing = threading.Thread(target=page.close, daemon=True)
        closing.start()  # started before it is published: the test joins it once it sees it
        reloaded["page"] = closing

    first = FakePage(client, on_show=leave_before_the_frames)
    worker = threading.Thread(
        target=lambda: reloaded.setdefault("reaction", react(viewer, control))
    )
    worker.start()
    deadline = time.monotonic() + 10
    while "page" not in reloaded and time.monotonic() < deadline:
        time.sleep(0.01)
    reloaded["page"].join(5)
    second = FakePage(client, frames=[(200, 120), (220, 130), (240, 140)])
    worker.join(15)
    second.close()
    assert first.generation + 1 == second.generation
    np.testing.assert_allclose(reloaded["reaction"].happiness(), [120, 130, 140], atol=3)
    assert viewer.restarts == 1 and viewer.steps == 1
    assert "show" in second.kinds()  # the new page was shown the emoticon again


def test_a_pause_drops_the_reading_and_the_step_starts_again_after_it(session):
    client, viewer, stage, control = session
    shows = []

    def pause_at_the_first_show(page, message):
        shows.append(message["show_id"])
        page.ws.send_json({"type": "drawn", "show_id": message["show_id"], "t_page": page.now_ms()})
        if len(shows) == 1:
            control.pause("dashboard")  # the experimenter pauses during the settle time
            threading.Timer(0.5, control.resume, args=("dashboard",)).start()
            return
        FakePage.draw_and_send(page, message)

    frames = [(200, 90), (210, 91), (220, 92)]
    page = FakePage(client, on_show=pause_at_the_first_show, frames=frames)
    reaction = react(viewer, control)
    page.close()
    np.testing.assert_allclose(reaction.happiness(), [90, 91, 92], atol=3)
    assert viewer.restarts == 1 and len(shows) == 2  # shown again after the pause
    kinds = page.kinds()
    assert kinds.index("pause") < kinds.index("resume")
    assert [m["reason"] for m in page.received if m["type"] == "pause"] == ["dashboard"]


def test_the_participant_pausing_holds_the_session_and_end_stops_it(session):
    client, viewer, stage, control = session
    page = FakePage(client, frames=[(200, 90), (210, 91), (220, 92)])
    page.ws.send_json({"type": "pause", "paused": True})  # the participant presses space
    deadline = time.monotonic() + 5
    while not control.paused and time.monotonic() < deadline:
        time.sleep(0.01)
    assert control.paused_by == "participant's page"
    threading.Timer(0.3, control.end, args=("dashboard",)).start()
    with pytest.raises(SessionEndedByUser, match="ended from the dashboard at step 0"):
        react(viewer, control)
    assert "show" not in page.kinds()  # nothing was shown while paused
    page.close()


def test_instructions_hold_the_first_emoticon_until_the_participant_goes_on(session):
    client, viewer, stage, control = session
    stage.screen = Screen("participant", instructions="Look at the face.")
    stage._instructed = False
    page = FakePage(client, frames=[(200, 90), (210, 91), (220, 92)])
    worker = threading.Thread(target=lambda: react(viewer, control), daemon=True)
    worker.start()
    deadline = time.monotonic() + 5
    while "pause" not in page.kinds() and time.monotonic() < deadline:
        time.sleep(0.01)
    pause = next(m for m in page.received if m["type"] == "pause")
    assert pause["instructions"] is True and "show" not in page.kinds()
    page.ws.send_json({"type": "pause", "paused": False})  # space: the instructions are read
    worker.join(10)
    assert viewer.steps == 1 and page.kinds().index("resume") < page.kinds().index("show")
    page.close()


def test_a_message_that_is_not_the_protocols_closes_the_socket(session):
    client, *_ = session
    with client.websocket_connect("/ws", headers=LOOPBACK) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "drawn", "show_id": "one", "t_page": 1.0})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
    assert closed.value.code == 1003


def test_the_loopback_refuses_other_hosts_and_other_origins(session):
    client, *_ = session
    assert client.get("/", headers=LOOPBACK).status_code == 200
    assert client.get("/", headers={"host": "evil.example:8770"}).status_code == 421
    for headers in ({"host": "evil.example"}, {**LOOPBACK, "origin": "http://evil.example"}):
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers=headers):
            pass


def test_off_the_loopback_a_token_is_needed_and_plain_http_is_refused():
    with pytest.raises(WebServerError, match="needs HTTPS") as refused:
        ParticipantServer("192.0.2.2:8770")
    assert refused.value.field == "viewer" and "tls_cert" in refused.value.mentions
    access = Access.for_bind("0.0.0.0", tls=True, field="viewer")
    assert access.token is not None and len(access.token) >= 32
    stage = BrowserStage(BrowserCamera(), SessionControl())
    client = TestClient(participant_app(stage, access), base_url="https://192.0.2.2:8770")
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get(f"/?token={access.token}").status_code == 200
    assert client.get("/").status_code == 200  # the cookie the first visit set
    other = TestClient(participant_app(stage, access), base_url="https://192.0.2.2:8770")
    with pytest.raises(WebSocketDisconnect), other.websocket_connect("/ws"):
        pass
    with other.websocket_connect(f"/ws?token={access.token}") as ws:
        assert ws.receive_json()["type"] == "hello"


def test_the_server_serves_on_a_free_port_and_a_port_in_use_is_said():
    from urllib.request import urlopen

    with ParticipantServer("127.0.0.1:0") as page:
        assert page.url.startswith("http://127.0.0.1:") and "token" not in page.url
        with urlopen(page.url + "static/participant.js", timeout=5) as response:
            assert b"getUserMedia" in response.read()
        with pytest.raises(WebServerError, match="in use") as taken:
            ParticipantServer(f"127.0.0.1:{page.server.port}")
        assert taken.value.field == "viewer"
