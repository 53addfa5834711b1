"""Tracking: the detector runs on every k-th frame only, and the face is followed in between.

Detection is the costly part of the pipeline. `FaceTracker` runs the detector on every k-th frame
only and follows the face in between with a cheap template match, re-detecting at once when the
match is lost, and on the next frame when that detection finds no face; while there is no face
it detects on every other frame (`ABSENT_EVERY`), and it can first look with a scout: the same
detector on a smaller frame (`laetitia.faces.SCOUT_SIDE_PX`), the full detection running only
when the scout sees a face.
"""

from __future__ import annotations

import cv2
import numpy as np

from laetitia.errors import ConfigError
from laetitia.faces.protocol import FaceDetector, gray_of
from laetitia.faces.shrink import scaled

TRACKERS: tuple[str, ...] = ("template", "hold")
"""How `FaceTracker` follows a face between detections."""

ABSENT_EVERY = 2
"""Frames from one detection to the next while `FaceTracker` follows no face, in every default
setting. At 2 a face that appears is found on its first or second frame (a face lost for at
most one frame, the pipeline's goal), and frames without a face take half the detections: on the
fixtures with a title card, 6-30% less CPU time a frame than at 1, which detects on every such
frame (BENCHMARKS.md)."""

TRACKING_OPTIONS = (
    "detect_every",
    "tracker",
    "min_score",
    "redetect_after_miss",
    "absent_every",
    "scout",
)
"""The keys of `FaceTracker.describe()` that are the tracker's, not the detector's."""


class FaceTracker:
    """Run a detector on every k-th frame only, and follow the face in between.

    Between detections the face is followed either by a normalised template match of the last
    detected face in a window around its box (`tracker="template"`: the box moves with the face,
    and a match score below `min_score` means the face is lost, so the detector runs at once), or
    by keeping the last box (`tracker="hold"`). The box keeps its size between detections.
    When a detection loses the face the tracker was following (the detector misses it, or the
    match lost it and the detection finds none), the detector runs again on the next frame, so
    a face the detector misses once is lost for that one frame. While there is no face to
    follow, the detector runs on every `absent_every`-th frame, so a face that appears is found
    within `absent_every` frames (on its first or second frame at the default 2).
    After `reset` the first frame always is a detection.

    While there is no face (the last detection found none), a `scout` can look first: a cheaper
    detector, the same one on a smaller frame. Only when the scout sees a face does the detector
    run, on the same frame, and its box is the one returned; when the scout sees none, that
    counts as the detection that found no face. The first detection after `reset` is always the
    detector's own, so a step that starts with a face pays nothing for the scout.

    Args:
        detector: The detector to run.
        detect_every: k: frames from one detection to the next (1: detect on every frame).
        tracker: "template" or "hold".
        min_score: Lowest normalised correlation that still counts as the same face.
        redetect_after_miss: Detect again soon after a detection that found no face: on the
            next frame when a face was lost, every `absent_every` frames while there is none.
            False waits for the next scheduled detection, k frames later (a single miss
            costs k frames), and `absent_every` then has no effect; a recorded description
            that does not name this option means False, so its replay is exact.
        absent_every: Frames from one detection to the next while no face is followed (1:
            every frame; what a recorded description that does not name it means).
        scout: The detector that looks first while there is no face; None for none (what a
            recorded description that does not name it means).
    """

    TEMPLATE_PX = 32
    """Side of the face template the match works on (faces are shrunk to it)."""
    SEARCH = 0.5
    """Search window margin around the last box, in box sides."""

    def __init__(
        self,
        detector: FaceDetector,
        detect_every: int = 5,
        tracker: str = "template",
        min_score: float = 0.6,
        redetect_after_miss: bool = True,
        absent_every: int = ABSENT_EVERY,
        scout: FaceDetector | None = None,
    ) -> None:
        if detect_every < 1:
            raise ConfigError(f"detect_every must be at least 1, got {detect_every}.")
        if absent_every < 1:
            raise ConfigError(f"absent_every must be at least 1, got {absent_every}.")
        if tracker not in TRACKERS:
            raise ConfigError(f"unknown tracker {tracker!r}; use one of {list(TRACKERS)}.")
        self.detector = detector
        self.detect_every = int(detect_every)
        self.tracker = tracker
        self.min_score = float(min_score)
        self.redetect_after_miss = bool(redetect_after_miss)
        self.absent_every = int(absent_every)
        self.scout = scout
        self.name = detector.name
        self.whole_frame = detector.whole_frame
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face: the next frame runs the detector."""
        self.detector.reset()
        if self.scout is not None:
            self.scout.reset()
        self._since = 1  # frames since the last detection
        self._wait = 1  # frames from the last detection to the next
        self._box: np.ndarray | None = None
        self._template: np.ndarray | None = None
        self._scale = 1.0  # template pixels per frame pixel
        self._offset = (0.0, 0.0)  # template's top-left corner relative to the box's
        self._absent = False  # the last detection found no face: the scout looks first
        self.detections = 0
        """Detector runs since the last reset (for benchmarks); the scout's are not counted."""

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The face box in this frame, detected or tracked (see `FaceDetector.detect`)."""
        if self._since < self._wait:
            self._since += 1
            if self._box is None:
                return None
            if self.tracker == "hold":
                return self._box
            tracked = self._follow(gray_of(frame_bgr, gray))
            if tracked is not None:
                self._box = tracked
                return tracked
        gray = gray_of(frame_bgr, gray) if self.tracker == "template" else gray
        followed = self._box is not None
        self._since = 1
        if self._absent and self.scout is not None and self.scout.detect(frame_bgr, gray) is None:
            self._wait = self._wait_after_miss(followed)
            return None
        self._box = self.detector.detect(frame_bgr, gray)
        self.detections += 1
        self._absent = self._box is None
        if self._box is None:
            self._wait = self._wait_after_miss(followed)
            return None
        self._wait = self.detect_every
        if self.tracker == "template":
            self._remember(gray_of(frame_bgr, gray), self._box)  # gray is already set here
        return self._box

    def _wait_after_miss(self, followed: bool) -> int:
        """Frames to the next detection after one that found no face."""
        if not self.redetect_after_miss:
            return self.detect_every
        # A face just lost is looked for on the next frame, so a single miss costs one frame;
        # where there was none, a face that appears is found within `absent_every` frames.
        return 1 if followed else self.absent_every

    def _remember(self, gray: np.ndarray, box: np.ndarray) -> None:
        """Keep the detected face (its part inside the frame), shrunk, as the template."""
        self._template = None
        self._scale = self.TEMPLATE_PX / max(float(box[2]), 1.0)
        inside = _clip_window(gray.shape, box[0], box[1], box[0] + box[2], box[1] + box[3])
        if inside is None:
            return
        x1, y1, x2, y2 = inside
        self._template = scaled(gray[y1:y2, x1:x2], self._scale)
        self._offset = (x1 - float(box[0]), y1 - float(box[1]))

    def _follow(self, gray: np.ndarray) -> np.ndarray | None:
        """The last box moved to where the template matches best, or None if the face is lost."""
        box, template = self._box, self._template
        if box is None or template is None:
            return None
        # The template's frame position if nothing had moved, grown by the search margin.
        tx, ty = float(box[0]) + self._offset[0], float(box[1]) + self._offset[1]
        tw, th = template.shape[1] / self._scale, template.shape[0] / self._scale
        margin = self.SEARCH * float(box[2])
        window = _clip_window(
            gray.shape, tx - margin, ty - margin, tx + tw + margin, ty + th + margin
        )
        if window is None:
            return None
        x1, y1, x2, y2 = window
        search = scaled(gray[y1:y2, x1:x2], self._scale)
        if search.shape[0] < template.shape[0] or search.shape[1] < template.shape[1]:
            return None
        scores = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best < self.min_score:
            return None
        moved = box.copy()
        moved[0] = x1 + bx * (x2 - x1) / search.shape[1] - self._offset[0]
        moved[1] = y1 + by * (y2 - y1) / search.shape[0] - self._offset[1]
        return moved

    def describe(self) -> dict[str, object]:
        """The detector's description plus the tracking settings."""
        return {
            **self.detector.describe(),
            "detect_every": self.detect_every,
            "tracker": self.tracker,
            "min_score": self.min_score,
            "redetect_after_miss": self.redetect_after_miss,
            "absent_every": self.absent_every,
            "scout": None if self.scout is None else self.scout.describe(),
        }


def _clip_window(
    shape: tuple[int, ...], x1: float, y1: float, x2: float, y2: float
) -> tuple[int, int, int, int] | None:
    """The window rounded to pixels and clipped to a frame of `shape`; None if under 2 px."""
    height, width = shape[:2]
    cx1, cy1 = max(0, round(x1)), max(0, round(y1))
    cx2, cy2 = min(width, round(x2)), min(height, round(y2))
    if cx2 - cx1 < 2 or cy2 - cy1 < 2:
        return None
    return cx1, cy1, cx2, cy2
