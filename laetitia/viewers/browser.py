"""A participant's browser page as a live viewer's stage (`--viewer browser`).

    camera = BrowserCamera()                                      # laetitia.cameras
    stage = BrowserStage(camera, SessionControl(), Screen("participant"))
    viewer = LiveViewer(camera, meter, stage=stage)               # laetitia.viewers.live

The web server (`laetitia.app.web`) serves the page and, from its own thread, tells the stage
what the page does (`connect`, `disconnect`, `on_*`) and pushes the page's frames into the
camera; it gives `connect` a function that queues a message for the page, so this module knows
nothing of the web. The training thread calls the `Stage` methods (`laetitia.viewers.stage`):
- `hold` waits until a page is there with its camera streaming, visible, and the session is not
  paused; meanwhile the session waits and says why (to the dashboard, through the
  `SessionControl`);
- `present` sends the emoticon and waits until the page says it was drawn: the time of the
  animation frame after the one it was drawn in, on the page's clock, which is also the clock of
  the camera's capture times, so "captured `settle_s` after it was on screen" needs no clock
  sync;
- `check` interrupts a step being read when the page reloads or closes, is hidden, loses its
  camera, or the session pauses: the reading is dropped and the step starts again (shown anew,
  the full settle time given again), so no step is lost and none is recorded twice.

One page at a time: a new connection (a reload, or a second tab) is a new generation and
replaces the old one, which is told the session moved on.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import cv2
import numpy as np

from laetitia.cameras import BrowserCamera, FramesInterrupted
from laetitia.types import Reaction
from laetitia.viewers.control import SessionControl, SessionEvent
from laetitia.viewers.stage import INSTRUCTIONS_BY, Screen

PROTOCOL = 1
"""The version of the messages the page and the server exchange (sent in `hello`)."""
DRAW_TIMEOUT_S = 5.0
"""How long a shown emoticon may take to be drawn before the step starts again."""
WAIT_TICK_S = 0.1
"""How often a wait looks again at what it waits for (frames arrive without telling the stage)."""

Deliver = Callable[[dict[str, Any]], None]
"""Queues one message (plain data, sent as JSON) for the page."""


class BrowserStage:
    """The participant's page: where the emoticons are shown, and what holds the session.

    Args:
        camera: The camera the page's frames are pushed into.
        control: The session's pause and end (shared with a dashboard).
        screen: The participant's screen: the blank between emoticons and the instructions.
        capture_quality: JPEG quality (0 to 1) the page encodes frames with.
    """

    by = "participant's page"
    """Who the page's space key pauses the session as."""

    def __init__(
        self,
        camera: BrowserCamera,
        control: SessionControl,
        screen: Screen | None = None,
        capture_quality: float = 0.92,
    ) -> None:
        self.camera = camera
        self.control = control
        self.screen = screen if screen is not None else Screen("participant")
        self.capture_quality = capture_quality
        self._cond = threading.Condition()
        self.generation = 0
        """The current page's number: each connection (a reload) is a new one."""
        self.connected = False
        self.camera_ok = False
        self.visible = True
        self.interruptions = 0
        """Disconnections, hidden pages, lost cameras and pauses so far."""
        self._deliver: Deliver | None = None
        self._drawn: dict[int, float] = {}
        self._show_ids = itertools.count(1)
        self._last_show: dict[str, Any] | None = None
        self._instructed = self.screen.instructions is None
        self._waiting = ""
        self._token = (-1, -1)
        self.steps = 0
        control.listen(self._on_control)

    # ----- the web server's thread: what the page does -------------------------------------------
    def connect(self, deliver: Deliver) -> int:
        """A page connected: it becomes the current one. Returns its generation.

        The page is greeted (`hello`), shown the emoticon on show, and told of a pause.
        """
        with self._cond:
            old = self._deliver
            self.generation += 1
            generation = self.generation
            self._deliver = deliver
            self.connected, self.camera_ok, self.visible = True, False, True
            self._interrupt()
            self.camera.new_page(generation)
            last = self._last_show
            self._cond.notify_all()
        if old is not None:
            old({"type": "end", "text": "This page was opened again elsewhere."})
        deliver(
            {
                "type": "hello",
                "protocol": PROTOCOL,
                "generation": generation,
                "instructions": self.screen.instructions,
                "capture": {"format": "image/jpeg", "quality": self.capture_quality},
            }
        )
        if self.control.paused:
            deliver(self._pause_message(self.control.paused_by))
        elif last is not None:
            deliver(last)  # a reloaded page shows the emoticon on show; the step restarts
        return generation

    def disconnect(self, generation: int) -> None:
        """Page `generation` closed (or reloaded): the session waits for a page."""
        with self._cond:
            if generation != self.generation:
                return  # an older page closing after a newer one came
            self.connected = self.camera_ok = False
            self._deliver = None
            self._interrupt()

    def on_pong(self, generation: int, t0: float, t_page_ms: float) -> None:
        """The page answered a clock ping sent at server time `t0`."""
        self.camera.add_clock_sample(generation, t0, t_page_ms, time.monotonic())

    def on_camera(
        self,
        generation: int,
        ok: bool,
        settings: dict[str, object] | None = None,
        user_agent: str = "",
    ) -> None:
        """The page's camera opened (`ok`), or was refused, lost or muted."""
        with self._cond:
            if generation != self.generation:
                return
            self.camera_ok = ok
            if settings is not None:
                self.camera.settings = dict(settings)
            if user_agent:
                self.camera.user_agent = user_agent
            if not ok:
                self._interrupt()

    def on_drawn(self, generation: int, show_id: int, t_page_ms: float) -> None:
        """The page drew emoticon `show_id`; it was on screen at `t_page_ms` (its clock)."""
        with self._cond:
            if generation == self.generation:
                self._drawn[show_id] = t_page_ms
                self._cond.notify_all()

    def on_visibility(self, generation: int, hidden: bool) -> None:
        """The page was hidden (another tab, minimised) or shown again."""
        with self._cond:
            if generation != self.generation:
                return
            self.visible = not hidden
            if hidden:
                self._interrupt()

    def on_pause(self, generation: int, paused: bool) -> None:
        """The participant pressed space: pause, or go on (the instructions read)."""
        if generation != self.generation:
            return
        if paused:
            self.control.pause(self.by)
        else:
            self.control.resume(self.by)

    def frame(self, generation: int, seq: int, t_page_ms: float, data: bytes, kind: str) -> None:
        """A frame the page captured at `t_page_ms` (its clock), encoded as `data`."""
        self.camera.push(generation, seq, t_page_ms, data, kind)

    # ----- the training thread: the stage --------------------------------------------------------
    def hold(self, step: int) -> None:
        """Wait for the instructions to be read, a page with its camera, and no pause.

        Raises:
            SessionEndedByUser: If the session was ended.
        """
        if not self._instructed:
            self._instructed = True
            self.control.pause(INSTRUCTIONS_BY)
        while True:
            self.control.check_end(step)
            with self._cond:
                why = self._why_waiting()
                if not why:
                    self._token = (self.generation, self.interruptions)
                    self.camera.arm()
            if not why:
                self._say("")
                return
            self._say(why)
            with self._cond:
                self._cond.wait(WAIT_TICK_S)

    def present(self, image: np.ndarray, step: int) -> float:
        """Send the emoticon; when the page had it on screen, on the page's clock (s).

        Raises:
            FramesInterrupted: If the page went, or did not draw it within `DRAW_TIMEOUT_S`.
            SessionEndedByUser: If the session was ended.
        """
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        assert ok, "a uint8 RGB image encodes as PNG"
        show_id = next(self._show_ids)
        message = {
            "type": "show",
            "show_id": show_id,
            "step": step,
            "blank_ms": round(1000 * self.screen.blank_s),
            "image": "data:image/png;base64," + base64.b64encode(png.tobytes()).decode(),
        }
        with self._cond:
            self._last_show = message
            deliver = self._deliver
        if deliver is None:
            raise FramesInterrupted("the participant's page closed")
        deliver(message)
        self.control.announce_show(step, image)
        deadline = time.monotonic() + DRAW_TIMEOUT_S + self.screen.blank_s
        with self._cond:
            while show_id not in self._drawn:
                self._check_locked(step)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FramesInterrupted(
                        f"the page did not draw the emoticon within {DRAW_TIMEOUT_S:g} s"
                    )
                self._cond.wait(min(left, WAIT_TICK_S))
            return self._drawn.pop(show_id) / 1000.0

    def check(self, step: int) -> None:
        """Raise if the step being read must start again, or the session ended.

        Raises:
            FramesInterrupted: If the page went, was hidden, lost its camera, or a pause came.
            SessionEndedByUser: If the session was ended.
        """
        with self._cond:
            self._check_locked(step)

    def show_frame(self, frame: np.ndarray) -> None:
        """Nothing: the participant does not see themselves."""

    def show_reaction(self, reaction: Reaction) -> None:
        """Count the step."""
        self.steps += 1

    def show_reward(self, reward: float, scored: bool) -> None:
        """Nothing: the participant does not see the reward."""

    def resume_from(self, rewards: Iterable[float], scored: Iterable[bool]) -> None:
        """Go on after a resumed session's steps (the count only: the page shows no curve)."""
        self.steps = len(list(rewards))

    def close(self) -> None:
        """Tell the page the session has ended."""
        with self._cond:
            deliver, self._deliver = self._deliver, None
        if deliver is not None:
            deliver({"type": "end", "text": "Thank you: the session has ended."})

    # ----- inside ---------------------------------------------------------------------------------
    def _why_waiting(self) -> str:
        """Why a step cannot begin now; empty when it can (called with the lock held)."""
        if not self.connected:
            return "waiting for the participant's page (open its URL; a closed page is awaited)"
        if not self.camera_ok:
            return "waiting for the participant's camera (the page asks for it)"
        if not self.visible:
            return "the participant's page is hidden (another tab, or minimised)"
        if not self.camera.receiving():
            return "waiting for frames from the participant's camera"
        if self.control.paused:
            return f"paused by the {self.control.paused_by}"
        return ""

    def _check_locked(self, step: int) -> None:
        self.control.check_end(step)
        if (self.generation, self.interruptions) != self._token:
            raise FramesInterrupted(self._why_waiting() or "the participant's page was interrupted")

    def _interrupt(self) -> None:
        """The step in progress loses its frames (called with the lock held)."""
        self.interruptions += 1
        self.camera.interrupt()
        self._cond.notify_all()

    def _say(self, why: str) -> None:
        """Say why the session waits, once per change (the dashboard shows it)."""
        if why != self._waiting:
            self._waiting = why
            self.control.announce_status(why)

    def _on_control(self, event: SessionEvent) -> None:
        if event.kind != "state":
            return
        with self._cond:
            if event.paused:
                self._interrupt()
            else:
                self._cond.notify_all()
            deliver = self._deliver
        if deliver is None or event.ending:
            return
        deliver(self._pause_message(event.by) if event.paused else {"type": "resume"})

    def _pause_message(self, by: str) -> dict[str, Any]:
        return {"type": "pause", "reason": by, "instructions": by == INSTRUCTIONS_BY}
