"""The participant's screen (`--screen participant`): the emoticon alone, on a plain background.

    window = ParticipantWindow(Screen("participant", blank_s=0.3, instructions="Look at..."))
    window.hold(step)                     # instructions first; waits while paused
    t = window.present(image, step)       # a blank, then the emoticon; when it was drawn

Nothing of the reading, the reward or the agent is shown: a participant who watches a gauge of
their own smile learns to move the gauge (demand characteristics). The experimenter watches
the dashboard (`laetitia.app.web`), whose buttons act through the same `SessionControl` as this
window's keys.

- Full screen, or a window of the screen's size (`participant:WxH`).
- Between two emoticons, either a plain change or `Screen.blank_s` of plain background.
- Space pauses (the emoticon is hidden and the screen says so until space is pressed again);
  q or Escape end the session, as in the live window.
- `Screen.instructions`, when given, are shown before the first emoticon until the participant
  presses space (or the experimenter resumes the session).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from laetitia.emoticon.render import BACKGROUND as EMOTICON_BACKGROUND
from laetitia.viewers.control import SessionControl
from laetitia.viewers.live_window import LiveWindow
from laetitia.viewers.stage import INSTRUCTIONS_BY, Screen

if TYPE_CHECKING:
    from pygame import Surface

BACKGROUND = EMOTICON_BACKGROUND
"""The emoticon's own background: the screen is one plain colour around it."""
TEXT = (60, 60, 60)
EMOTICON_FRACTION = 0.8
"""The emoticon's side as a fraction of the screen's shorter side."""
PAUSED_TEXT = "Paused. Press space to go on."
INSTRUCTIONS_FOOTER = "Press space to begin."


def draw_participant(surface: Surface, emoticon: np.ndarray | None, message: str | None) -> None:
    """The participant's view on `surface`: a message if any, else the emoticon, centred."""
    import pygame

    surface.fill(BACKGROUND)
    width, height = surface.get_size()
    if message is not None:
        _draw_text(surface, message, width, height)
        return
    if emoticon is None:
        return  # the blank between two emoticons
    side = max(1, round(min(width, height) * EMOTICON_FRACTION))
    image = pygame.surfarray.make_surface(np.ascontiguousarray(emoticon.transpose(1, 0, 2)))
    image = pygame.transform.smoothscale(image, (side, side))
    surface.blit(image, ((width - side) // 2, (height - side) // 2))


def _draw_text(surface: Surface, text: str, width: int, height: int) -> None:
    """Paragraphs wrapped to 80% of the width, centred as a block."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    font = pygame.font.Font(None, max(24, height // 22))
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words, line = paragraph.split(), ""
        for word in words:
            trial = f"{line} {word}".strip()
            if line and font.size(trial)[0] > width * 0.8:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    step = font.get_linesize()
    top = (height - step * len(lines)) // 2
    for i, line in enumerate(lines):
        rendered = font.render(line, True, TEXT)
        surface.blit(rendered, ((width - rendered.get_width()) // 2, top + i * step))


class ParticipantWindow(LiveWindow):
    """The participant's pygame window: the emoticon alone (a `Stage`); opened on first use.

    Args:
        screen: The participant's screen: its size (None: full screen), the blank between
            emoticons, the instructions.
        control: The session's pause and end, shared with a dashboard; None for its own.
        title: The window's title.
    """

    by = "participant's window"

    def __init__(
        self, screen: Screen, control: SessionControl | None = None, title: str = "laetitia"
    ) -> None:
        super().__init__(title, control=control)
        self.screen = screen
        self._instructing = False
        self._instructed = screen.instructions is None

    @property
    def message(self) -> str | None:
        """What the screen says instead of an emoticon (instructions, a pause), if anything."""
        if self._instructing and self.screen.instructions is not None:
            return f"{self.screen.instructions}\n\n{INSTRUCTIONS_FOOTER}"
        if self.state.paused:
            return PAUSED_TEXT
        return None

    def hold(self, step: int) -> None:
        """The instructions before the first emoticon, then as `LiveWindow.hold`.

        Raises:
            SessionEndedByUser: If the session was ended.
        """
        if not self._instructed:
            self._instructed = self._instructing = True
            self.control.pause(INSTRUCTIONS_BY)
            try:
                self.wait(0.0)
            finally:
                self._instructing = False
        super().hold(step)

    def present(self, image: np.ndarray, step: int) -> float:
        """A blank of `Screen.blank_s` after an emoticon, then the emoticon; when it was drawn."""
        if self.screen.blank_s > 0 and self.state.emoticon is not None:
            self.state.emoticon = None
            self.wait(self.screen.blank_s)
        return super().present(image, step)

    def draw(self, surface: Surface) -> None:
        """The participant's view (`draw_participant`)."""
        draw_participant(surface, self.state.emoticon, self.message)

    def _size(self) -> tuple[int, int] | None:
        """The participant's window size; None (no size given) for the full screen."""
        return self.screen.size
