"""What the experimenter's dashboard is told, as the session runs.

    feed = DashboardFeed(control, preview="face")
    snapshot = feed.watch(deliver)       # a dashboard connects: what it needs, then every event
    feed.publish_step(step, episode, reward, scored, reaction, best)   # after each step

Events (JSON objects with a `type`) the dashboard receives:

    session  {signal, preview, viewer}            what it watches (sent first; the signal's
                                                  name once a step was read)
    history  {rewards[], scored[]}                the steps so far (sent on connecting)
    step     {step, episode, reward, scored, signal_name, signal, frames[], faces,
              frames_read, no_face_total, preview, best}   after each step
    show     {step, image}                        the emoticon put on show (a PNG data URL)
    state    {paused, by, ending}                 a pause, a resume, an end
    status   {text}                               why the session waits ("" when it runs)

The step's `frames[]` holds the signal of each frame read, null where no face was found (those
frames are not scored, and the dashboard flags them). `preview` is the last frame of the step
as a small JPEG with the face box drawn (`face`), blurred beyond recognition with the box
(`blur`), or null (`none`, and always when the session keeps no image of the person).
`best` is the agent's honest best guess so far (its `best_params`, with the emoticon drawn),
or null when the agent has none.

Everything the dashboard shows of the reading is read through `signal_of`, the one place that
says which signal a session scores and how it is named.
"""

from __future__ import annotations

import base64
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from laetitia.signals import get_signal
from laetitia.types import Reaction
from laetitia.viewers.control import SessionControl, SessionEvent

PREVIEWS = ("face", "blur", "none")
"""What the dashboard's camera preview shows (`preview`)."""
PREVIEW_WIDTH = 320
"""The preview's width in pixels (a frame is shrunk to it)."""
EMOTICON_SIDE = 160
"""The side in pixels of the emoticons the dashboard shows."""
BEST_EVERY_S = 1.0
"""How often the agent's best guess is asked for (some agents compute it)."""
FACE_BOX = (90, 220, 60)
"""The face box's colour (BGR)."""

Deliver = Callable[[dict[str, Any]], None]


def signal_of(reaction: Reaction) -> tuple[str, np.ndarray]:
    """The session's smile signal per frame (NaN where no face), and its name.

    The one place the dashboard reads the signal: the one the session scores
    (`laetitia.signals`), named as the live window names it.
    """
    return get_signal(reaction.signal).label, reaction.signal_values()


def png_data_url(image_rgb: np.ndarray, side: int = EMOTICON_SIDE) -> str:
    """An RGB image as a PNG data URL, shrunk to `side` pixels on its longer side."""
    import cv2

    bgr = cv2.cvtColor(_shrink(image_rgb, side), cv2.COLOR_RGB2BGR)
    ok, png = cv2.imencode(".png", bgr)
    assert ok, "a uint8 image encodes as PNG"
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def preview_data_url(frame_bgr: np.ndarray, box: np.ndarray | None, mode: str) -> str | None:
    """A camera frame for the dashboard as a data URL; None for the preview "none".

    A small JPEG with the face box drawn, blurred beyond recognition for "blur".
    """
    import cv2

    if mode == "none":
        return None
    scale = min(1.0, PREVIEW_WIDTH / frame_bgr.shape[1])
    small = _shrink(frame_bgr, round(max(frame_bgr.shape[:2]) * scale))
    if mode == "blur":
        # Pixelated to 12 blocks across, then smoothed: a shape, never a person.
        blocks = cv2.resize(small, (12, max(1, 12 * small.shape[0] // small.shape[1])))
        small = cv2.resize(blocks, small.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    if box is not None and np.all(np.isfinite(box)):
        x, y, w, h = (round(float(v) * scale) for v in box)
        small = small.copy()
        cv2.rectangle(small, (x, y), (x + w, y + h), FACE_BOX, 2)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok, "a uint8 image encodes as JPEG"
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode()


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    import cv2

    scale = side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class DashboardFeed:
    """The events of one session for the dashboards watching it; thread-safe.

    It listens to the session's control (pauses, the emoticon on show, why it waits) and is
    told each step (`publish_step`). A dashboard that connects late gets what it needs to
    show the present (`watch`).

    Args:
        control: The session's control.
        preview: What the camera preview shows: "face", "blur" or "none" (`PREVIEWS`).
        param_names: The emoticon's parameter names, for the best guess.
        viewer: What the session watches (a viewer spec), shown on the dashboard.
    """

    def __init__(
        self,
        control: SessionControl,
        preview: str = "face",
        param_names: Sequence[str] = (),
        viewer: str = "",
    ) -> None:
        assert preview in PREVIEWS, f"preview is one of {PREVIEWS}"
        self.preview = preview
        self.param_names = tuple(param_names)
        self._lock = threading.Lock()
        self._watchers: list[Deliver] = []
        self._rewards: list[float] = []
        self._scored: list[bool] = []
        self._latest: dict[str, dict[str, Any]] = {}
        self._no_face_total = 0
        self._best: dict[str, Any] | None = None
        self._best_at = -math.inf
        self._stage_shows = False
        self._session = {"type": "session", "signal": "", "preview": preview, "viewer": viewer}
        control.listen(self._on_control)

    @property
    def watched(self) -> bool:
        """Whether any dashboard is connected (images are encoded only then)."""
        return bool(self._watchers)

    def watch(self, deliver: Deliver) -> None:
        """A dashboard connects: it is sent the present, then every event as it comes."""
        with self._lock:
            deliver(dict(self._session))
            history = {"rewards": list(self._rewards), "scored": list(self._scored)}
            deliver({"type": "history", **history})
            for kind in ("show", "state", "status", "step"):
                if kind in self._latest:
                    deliver(self._latest[kind])
            self._watchers.append(deliver)

    def unwatch(self, deliver: Deliver) -> None:
        """A dashboard went."""
        with self._lock:
            if deliver in self._watchers:
                self._watchers.remove(deliver)

    def resume_from(self, rewards: Iterable[float], scored: Iterable[bool]) -> None:
        """A resumed session's steps so far (its curve)."""
        with self._lock:
            self._rewards = [float(r) for r in rewards]
            self._scored = [bool(s) for s in scored]

    def publish_step(
        self,
        step: int,
        episode: int,
        reward: float,
        scored: bool,
        reaction: Reaction | None,
        params: np.ndarray,
        best: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        """Tell the dashboards of a completed step.

        Args:
            step: Its number in the session.
            episode: Its episode.
            reward: The env's reward for it.
            scored: Whether a frame had a face (else the reward carried over).
            reaction: The viewer's reading (None when nothing was read).
            params: The raw parameters of the emoticon shown.
            best: Asks the agent for its best guess so far (None: it has none); asked at most
                every `BEST_EVERY_S`.
        """
        event: dict[str, Any] = {
            "type": "step",
            "step": step,
            "episode": episode,
            "reward": float(reward),
            "scored": bool(scored),
        }
        if reaction is not None:
            name, values = signal_of(reaction)
            self._session["signal"] = name
            faces = values[reaction.has_face]
            self._no_face_total += reaction.n_frames - reaction.n_faces
            event.update(
                signal_name=name,
                signal=float(np.mean(faces, dtype=np.float64)) if faces.size else None,
                frames=[None if math.isnan(v) else float(v) for v in values],
                faces=reaction.n_faces,
                frames_read=reaction.n_frames,
                no_face_total=self._no_face_total,
                preview=self._preview(reaction) if self.watched else None,
            )
        if best is not None and time.monotonic() - self._best_at >= BEST_EVERY_S:
            self._best_at = time.monotonic()
            self._best = self._best_guess(best())
        event["best"] = self._best
        with self._lock:
            self._rewards.append(float(reward))
            self._scored.append(bool(scored))
        if not self._stage_shows and self.watched:
            # A viewer without a stage (a simulated one) announces no emoticon: the one it
            # was shown is the one on show until the next step.
            from laetitia.emoticon.render import render

            self._publish({"type": "show", "step": step, "image": png_data_url(render(params))})
        self._publish(event)

    def _preview(self, reaction: Reaction) -> str | None:
        if not reaction.frames:
            return None
        last = reaction.n_frames - 1
        box = reaction.boxes[last] if reaction.boxes is not None else None
        return preview_data_url(reaction.frames[last], box, self.preview)

    def _best_guess(self, params: np.ndarray | None) -> dict[str, Any] | None:
        if params is None:
            return None
        from laetitia.emoticon.render import render

        values = [float(v) for v in params]
        names = self.param_names or tuple(f"p{i}" for i in range(len(values)))
        image = None
        if self.watched:
            image = png_data_url(render(np.asarray(params)), EMOTICON_SIDE // 2)
        return {"params": dict(zip(names, values, strict=True)), "image": image}

    def _on_control(self, event: SessionEvent) -> None:
        if event.kind == "show":
            self._stage_shows = True
            if self.watched and event.image is not None:
                self._publish(
                    {"type": "show", "step": event.step, "image": png_data_url(event.image)}
                )
        elif event.kind == "state":
            self._publish(
                {"type": "state", "paused": event.paused, "by": event.by, "ending": event.ending}
            )
        else:
            self._publish({"type": "status", "text": event.text})

    def _publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            if event["type"] != "show" or event.get("image") is not None:
                self._latest[event["type"]] = event
            watchers = list(self._watchers)
        for deliver in watchers:
            deliver(event)
