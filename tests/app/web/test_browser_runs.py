"""Runs with a browser participant on a real socket, the page played in Python (no Chromium).

The page is a WebSocket client (the `websockets` library laetitia's server uses) that answers
as participant.js does and streams plain grey frames (no face: each step is recorded, unscored).
It proves the runs themselves: `train` and its resume record one session across two pages, and
`evaluate` takes a browser participant and a dashboard too.
"""

import json
import queue
import threading
import time

import cv2
import numpy as np
from websockets.sync.client import connect

from laetitia.app.evaluation import EvaluationConfig, evaluate_saved
from laetitia.app.training import TrainConfig, resume, train
from laetitia.app.web.protocol import FrameHeader, frame_message
from laetitia.app.web.session import WebOptions
from laetitia.sessions import load_session

GREY = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
TIMEOUT_S = 60


class PythonPage:
    """The participant's page as participant.js behaves: pongs, drawn, a frame every 20 ms."""

    def __init__(self, url):
        self.ws = connect(url.replace("http://", "ws://") + "ws", proxy=None, legacy=True)
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.seq = 0
        self.open = True
        self.send({"type": "camera", "ok": True, "settings": {"width": 64, "height": 48}})
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._stream, daemon=True).start()

    def now_ms(self):
        return (time.monotonic() - self.t0) * 1000

    def send(self, message):
        with self.lock:
            self.ws.send(message if isinstance(message, bytes) else json.dumps(message))

    def close(self):
        self.open = False
        self.ws.close()

    def _receive(self):
        try:
            for text in self.ws:
                message = json.loads(text)
                if message["type"] == "ping":
                    self.send({"type": "pong", "t0": message["t0"], "t_page": self.now_ms()})
                elif message["type"] == "show":
                    self.send(
                        {"type": "drawn", "show_id": message["show_id"], "t_page": self.now_ms()}
                    )
        except Exception:  # noqa: BLE001 - the connection closed under the thread
            self.open = False

    def _stream(self):
        while self.open:
            header = FrameHeader(seq=self.seq, t=self.now_ms(), t_kind="captureTime", w=64, h=48)
            self.seq += 1
            try:
                self.send(frame_message(header, GREY))
            except Exception:  # noqa: BLE001 - the connection closed under the thread
                return
            time.sleep(0.02)


def watch(url, events):
    """A dashboard in Python: collects the events its socket sends until it closes."""

    def run():
        with connect(url.replace("http://", "ws://") + "ws", proxy=None) as ws:
            try:
                for text in ws:
                    events.append(json.loads(text))
            except Exception:  # noqa: BLE001 - the server stopped
                return

    threading.Thread(target=run, daemon=True).start()


def with_a_page(run, dashboard_events=None):
    """Run `run(log)` in a thread; a Python page joins the participant's URL it says (and a
    Python dashboard the dashboard's, collecting its events into `dashboard_events`)."""
    said, ran = queue.Queue(), {}

    def target():
        try:
            ran["result"] = run(said.put)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            ran["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    line = said.get(timeout=TIMEOUT_S)
    while not line.startswith("participant: "):
        if line.startswith("dashboard: ") and dashboard_events is not None:
            watch(line.removeprefix("dashboard: "), dashboard_events)
        line = said.get(timeout=TIMEOUT_S)
    page = PythonPage(line.removeprefix("participant: "))
    worker.join(TIMEOUT_S)
    page.close()
    assert not worker.is_alive(), "the run did not complete"
    if "error" in ran:
        raise ran["error"]
    return ran["result"]


def test_a_browser_session_resumes_with_a_new_page_and_an_evaluation_takes_one_too(tmp_path):
    out = tmp_path / "session"
    config = TrainConfig(
        out=out,
        agent="hill-climb",
        viewer="browser:127.0.0.1:0",
        steps=2,
        frames=3,
        settle_s=0.05,
        detector="haar",
    )
    with_a_page(lambda log: train(config, progress=False, log=log))
    with_a_page(lambda log: resume(out, steps=2, progress=False, log=log))
    session = load_session(out)
    assert session.n_steps == 4 and list(session.steps["step"]) == [0, 1, 2, 3]
    assert all(len(session.read_frames(step)) == 3 for step in range(4))
    assert not session.scored().any()  # grey frames: no face, never scored as anything
    meta = json.loads((out / "meta.json").read_text())
    assert meta["viewer"]["kind"] == "browser" and meta["config"]["viewer"] == config.viewer

    evaluation = EvaluationConfig(
        agent_path=out / "agent",
        viewer="browser:127.0.0.1:0",
        episodes=1,
        max_episode_steps=2,
        frames=2,
        settle_s=0.05,
        out=tmp_path / "evaluation",
    )
    events = []
    web = WebOptions(dashboard="127.0.0.1:0")
    result = with_a_page(
        lambda log: evaluate_saved(evaluation, progress=False, log=log, web=web), events
    )
    assert result.steps == 2
    assert load_session(tmp_path / "evaluation").n_steps == 2
    # The evaluation's dashboard was told each step, and showed each emoticon put on show.
    assert [e["step"] for e in events if e["type"] == "step"] == [0, 1]
    assert [e["step"] for e in events if e["type"] == "show"] == [0, 1]
