"""What the dashboard is told, and its socket, without a browser (Starlette's TestClient)."""

import base64

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from laetitia.app.web.dashboard import dashboard_app, serve_dashboard
from laetitia.app.web.feed import DashboardFeed, preview_data_url, signal_of
from laetitia.app.web.server import Access
from laetitia.errors import ConfigError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.types import Reaction
from laetitia.viewers.control import SessionControl

LOOPBACK = {"host": "127.0.0.1:8771"}
PARAMS = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])


def reaction(happy, faces):
    faces = np.asarray(faces, bool)
    probs = np.zeros((faces.size, len(EMOTIONS)), np.float32)
    probs[:, EMOTIONS.index(HAPPY)] = happy
    probs[~faces] = np.nan
    boxes = np.tile(np.array([40, 20, 60, 60], np.float32), (faces.size, 1))
    boxes[~faces] = np.nan
    frames = tuple(np.full((180, 320, 3), 90 + 10 * i, np.uint8) for i in range(faces.size))
    return Reaction(probs=probs, has_face=faces, boxes=boxes, frames=frames)


def decoded(url):
    data = base64.b64decode(url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture
def dashboard():
    control = SessionControl()
    feed = DashboardFeed(control, "face", [f"p{i}" for i in range(len(PARAMS))], "webcam")
    access = Access.for_bind("127.0.0.1", tls=False, field="dashboard")
    with TestClient(dashboard_app(feed, control, access), base_url="http://127.0.0.1:8771") as c:
        yield c, feed, control


def test_a_dashboard_that_connects_late_gets_the_present_then_every_step(dashboard):
    client, feed, control = dashboard
    feed.resume_from([0.2, 0.3], [True, False])  # a resumed session's curve
    control.pause("participant's page")
    with client.websocket_connect("/ws", headers=LOOPBACK) as ws:
        first = [ws.receive_json() for _ in range(3)]
        assert [e["type"] for e in first] == ["session", "history", "state"]
        assert first[1]["rewards"] == [0.2, 0.3] and first[1]["scored"] == [True, False]
        assert first[2]["paused"] and first[2]["by"] == "participant's page"
        feed.publish_step(2, 0, 0.6, True, reaction([0.5, 0.7, 0.0], [1, 1, 0]), PARAMS)
        show, step = ws.receive_json(), ws.receive_json()
    assert show["type"] == "show" and show["step"] == 2  # no stage announced one: the step's
    assert step["type"] == "step" and step["step"] == 2 and step["reward"] == 0.6
    assert step["signal"] == pytest.approx(0.6)  # the mean over the frames with a face
    assert step["frames"] == [pytest.approx(0.5), pytest.approx(0.7), None]  # no face: flagged
    assert step["faces"] == 2 and step["no_face_total"] == 1
    assert decoded(step["preview"]).shape[1] <= 320
    assert step["best"] is None  # no agent's guess was given


def test_its_buttons_act_on_the_session_s_control_and_a_stranger_s_message_closes_it(dashboard):
    client, feed, control = dashboard
    with client.websocket_connect("/ws", headers=LOOPBACK) as ws:
        for _ in range(2):
            ws.receive_json()
        ws.send_json({"type": "control", "action": "pause"})
        assert ws.receive_json() == {
            "type": "state",
            "paused": True,
            "by": "dashboard",
            "ending": False,
        }
        ws.send_json({"type": "control", "action": "resume"})
        assert not ws.receive_json()["paused"] and not control.paused
        ws.send_json({"type": "control", "action": "end"})
        assert ws.receive_json()["ending"] and control.ending
        ws.send_json({"type": "control", "action": "reboot"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1003
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws"):
        pass  # Host "testserver" is not this machine's loopback


def test_the_preview_shows_the_face_with_its_box_blurred_or_nothing():
    frame = np.random.default_rng(1).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    box = np.array([100.0, 80.0, 120.0, 120.0])
    face, blur = (
        decoded(preview_data_url(frame, box, "face")),
        decoded(preview_data_url(frame, box, "blur")),
    )
    assert face.shape == blur.shape == (180, 320, 3)
    green = (face[:, :, 1] > 180) & (face[:, :, 0] < 120) & (face[:, :, 2] < 120)
    assert green[40:101, 50].sum() > 30  # the box's left side, at half scale
    # Blurred beyond recognition: what is left of the frame's detail is a few blocks.
    assert np.std(cv2.Laplacian(blur, cv2.CV_64F)) < np.std(cv2.Laplacian(face, cv2.CV_64F)) / 4
    assert preview_data_url(frame, box, "none") is None


def test_the_best_guess_is_asked_for_at_most_every_second_and_named_by_parameter():
    feed = DashboardFeed(SessionControl(), "none", [f"p{i}" for i in range(len(PARAMS))])
    asked = []

    def best():
        asked.append(1)
        return PARAMS

    events = []
    feed.watch(events.append)
    for step in range(3):
        feed.publish_step(step, 0, 0.5, True, reaction([0.5], [1]), PARAMS, best)
    steps = [e for e in events if e["type"] == "step"]
    assert len(asked) == 1  # steps come faster than a second apart
    assert all(e["best"]["params"] == {f"p{i}": 0.5 for i in range(8)} for e in steps)
    assert steps[0]["best"]["image"].startswith("data:image/png")
    assert all(e["preview"] is None for e in steps)  # the preview "none"
    assert signal_of(reaction([0.25], [1]))[0] == "P(happy)"


def test_a_dashboard_address_of_another_form_is_refused_naming_the_setting():
    with pytest.raises(ConfigError) as refused:
        serve_dashboard(DashboardFeed(SessionControl()), SessionControl(), "local:host")
    assert refused.value.field == "dashboard"
