"""Where a live viewer shows the emoticon: a stage, and the screen setting that picks one.

    screen = parse_screen("participant")             # --screen participant (full screen)
    stage = make_stage(screen, SessionControl())     # laetitia.viewers.live
    stage.hold(step)                                 # waits while paused; raises on end
    t = stage.present(image, step)                   # on screen at t, on the camera's clock

A stage and its viewer's camera share a clock: `present` says when the emoticon was on the
screen, on the camera's clock (`time.monotonic()` for a webcam and a pygame window; the page's
own clock for a participant in the browser), so the frames read are those the camera took
`settle_s` after it. That contract is the whole of the timing.

Stages:
- `laetitia.viewers.live_window.LiveWindow` (`full`): the demo window, for a person alone: the
  emoticon beside the camera preview with the face box, the gauge of the reading, the reward
  curve and the step count.
- `laetitia.viewers.participant_window.ParticipantWindow` (`participant`): the emoticon alone on
  a plain background, full screen or in a window of a fixed size; nothing of the reading, the
  reward or the agent (a participant who watches their own reading learns to move it). The
  experimenter watches the dashboard instead (`laetitia.app.web`).
- `laetitia.viewers.browser.BrowserStage`: a participant's browser page (the same view).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from laetitia.errors import ConfigError
from laetitia.types import Reaction

SCREENS = ("full", "participant", "participant:WxH")
"""The forms of the `screen` setting."""
INSTRUCTIONS_BY = "instructions"
"""Who a session is paused by while a participant reads the instructions (space goes on)."""


class Stage(Protocol):
    """Where a live viewer shows each emoticon, and what it shows of the session besides."""

    def hold(self, step: int) -> None:
        """Return when a step may begin: not paused, and (a page) the participant is there.

        Raises:
            SessionEndedByUser: If the session was ended.
        """

    def present(self, image: np.ndarray, step: int) -> float:
        """Show the emoticon (RGB uint8); when it was on screen, on the camera's clock.

        Raises:
            FramesInterrupted: If the step was interrupted before it was on screen.
            SessionEndedByUser: If the session was ended.
        """

    def check(self, step: int) -> None:
        """Go on reading the step, or raise why not.

        Raises:
            FramesInterrupted: If the step must start again (a pause, a page gone).
            SessionEndedByUser: If the session was ended.
        """

    def show_frame(self, frame: np.ndarray) -> None:
        """A camera frame read for the step (BGR uint8)."""

    def show_reaction(self, reaction: Reaction) -> None:
        """The step's reading is complete: count the step."""

    def show_reward(self, reward: float, scored: bool) -> None:
        """The env's reward for the step just read."""

    def resume_from(self, rewards: Iterable[float], scored: Iterable[bool]) -> None:
        """Go on after the steps of a resumed session."""

    def close(self) -> None:
        """Close the window (or say goodbye to the page)."""


@dataclass(frozen=True)
class Screen:
    """What the person at the camera sees, and how emoticons follow one another there.

    Raises:
        ConfigError: With `field` set, for a kind that is not one of `SCREENS`, a size or a
            blank out of range, or a blank or instructions with the `full` screen (the demo
            window has no participant's view to put them in).
    """

    kind: str = "full"
    """"full": the demo window (emoticon, preview, gauge, curve); "participant": the emoticon
    alone."""
    size: tuple[int, int] | None = None
    """A participant's window size in pixels (width, height); None: full screen."""
    blank_s: float = 0.0
    """Seconds of a plain screen between two emoticons (0: the emoticon simply changes)."""
    instructions: str | None = None
    """Text shown to the participant before the first emoticon, until they press space."""

    def __post_init__(self) -> None:
        if self.kind not in ("full", "participant"):
            raise ConfigError(
                f"screen {self.kind!r} is not one of {', '.join(SCREENS)}.", field="screen"
            )
        if self.size is not None and (self.kind != "participant" or min(self.size) < 64):
            raise ConfigError(
                f"screen: a window size applies to the participant's screen and is at least "
                f"64x64 pixels, got {self.size}.",
                field="screen",
            )
        if not math.isfinite(self.blank_s) or not 0 <= self.blank_s <= 10:
            raise ConfigError(
                f"blank_s is seconds of a plain screen between emoticons, 0 to 10, got "
                f"{self.blank_s}.",
                field="blank_s",
            )
        if self.kind == "full" and (self.blank_s or self.instructions is not None):
            named = "blank_s" if self.blank_s else "instructions"
            raise ConfigError(
                f"{named} applies to a participant's view: use it with the screen "
                "`participant` or a browser participant.",
                field=named,
                mentions=("screen=participant",),
            )

    @property
    def spec(self) -> str:
        """The screen as the `screen` setting writes it."""
        if self.size is None:
            return self.kind
        return f"{self.kind}:{self.size[0]}x{self.size[1]}"


def parse_screen(text: str, blank_s: float = 0.0, instructions: str | None = None) -> Screen:
    """A `Screen` from the `screen` setting's text: full, participant or participant:WxH.

    Raises:
        ConfigError: With `field` "screen" for text of another form (see `Screen` for the rest).
    """
    kind, sep, size = text.partition(":")
    if not sep:
        return Screen(kind, None, blank_s, instructions)
    width, x, height = size.partition("x")
    if kind != "participant" or not x or not width.isdigit() or not height.isdigit():
        raise ConfigError(
            f"screen {text!r} is not one of {', '.join(SCREENS)} (a size is WIDTHxHEIGHT in "
            "pixels, e.g. participant:1280x800).",
            field="screen",
        )
    return Screen(kind, (int(width), int(height)), blank_s, instructions)
