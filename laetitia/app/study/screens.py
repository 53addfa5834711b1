"""What a study shows the participant between sessions: the consent text, and the breaks.

    screens = participant_screens(study.viewer)
    if screens.consent(study.consent):        # A accepts; D, q, Escape or closing declines
        ...
    screens.rest(30.0, next_part=2, parts=2)   # space goes on sooner; q ends the study run
    screens.close()

`ParticipantScreens` is the seam: `PygameScreens` draws them in a pygame window (the one the
live sessions use is opened after it closes), and `participant_screens` is the one place that
chooses the screens for a viewer, so another participant view (a browser page) can show the
same consent and breaks. Drawing is apart from the window: `draw_consent` and `draw_rest` draw
on any pygame surface (an off-screen one in tests). No screen writes anything: the study
records the answer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from laetitia.errors import SessionEndedByUser, StudyError
from laetitia.viewers.live_window import (
    BACKGROUND,
    DIM,
    FRAME_S,
    TEXT,
    WINDOW_SIZE,
    PersonWindow,
    key_action,
)

if TYPE_CHECKING:
    from pygame import Surface
    from pygame.font import Font

MARGIN = 40
ACCEPT_KEYS = ("a",)
DECLINE_KEYS = ("d",)
CONSENT_HELP = "A: I agree and take part        D: I do not agree"
REST_HELP = "space: go on now        q: stop here (the same command goes on later)"


class ParticipantScreens(Protocol):
    """The screens a participant sees between sessions."""

    def consent(self, text: str) -> bool:
        """Show the consent text until the participant accepts (True) or declines (False)."""
        ...

    def rest(self, seconds: float, next_part: int, parts: int) -> None:
        """A break of up to `seconds` before part `next_part` of `parts`.

        Raises:
            SessionEndedByUser: If the participant stops there.
        """
        ...

    def close(self) -> None:
        """Close whatever the screens opened."""
        ...


def consent_answer(event: object) -> bool | None:
    """What a pygame event answers to the consent: True (A), False (D, q, Escape, closing)."""
    import pygame

    if key_action(event) == "quit":
        return False  # q, Escape or closing the window: no consent
    if getattr(event, "type", None) == pygame.KEYDOWN:
        name = pygame.key.name(getattr(event, "key", 0))
        if name in ACCEPT_KEYS:
            return True
        if name in DECLINE_KEYS:
            return False
    return None


def wrap(text: str, font: Font, width: int) -> list[str]:
    """The text's lines, each paragraph broken between words to fit `width` pixels."""
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        words = paragraph.split()
        line = ""
        for word in words:
            trial = f"{line} {word}".strip()
            if line and font.size(trial)[0] > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.extend([line, ""])
    return lines[:-1]


def draw_consent(surface: Surface, text: str) -> None:
    """Draw the consent text and its keys on a surface of `WINDOW_SIZE`."""
    body, small = _font(26), _font(22)
    surface.fill(BACKGROUND)
    y = MARGIN
    for line in wrap(text, body, WINDOW_SIZE[0] - 2 * MARGIN):
        surface.blit(body.render(line, True, TEXT), (MARGIN, y))
        y += body.get_linesize()
    surface.blit(small.render(CONSENT_HELP, True, DIM), (MARGIN, WINDOW_SIZE[1] - MARGIN - 20))


def draw_rest(surface: Surface, seconds_left: float, next_part: int, parts: int) -> None:
    """Draw a break: what comes next and how long is left, on a surface of `WINDOW_SIZE`."""
    big, small = _font(56), _font(24)
    surface.fill(BACKGROUND)
    surface.blit(big.render("Take a short break", True, TEXT), (MARGIN, 180))
    line = f"Part {next_part} of {parts} starts in {max(seconds_left, 0.0):.0f} s."
    surface.blit(small.render(line, True, TEXT), (MARGIN, 260))
    surface.blit(small.render(REST_HELP, True, DIM), (MARGIN, WINDOW_SIZE[1] - MARGIN - 20))


def _font(size: int) -> Font:
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, size)


class PygameScreens(PersonWindow):
    """The consent and break screens in a pygame window, opened on first use.

    `close` closes it (the live session opens its own).

    Args:
        title: The window's title.
    """

    def __init__(self, title: str = "laetitia study") -> None:
        super().__init__(title)

    def consent(self, text: str) -> bool:
        """Show the consent text until A (True) or D, q, Escape, closing (False)."""
        import pygame

        screen = self._open()
        pygame.event.clear()  # a key pressed before the text was shown answers nothing
        while True:
            for event in pygame.event.get():
                answer = consent_answer(event)
                if answer is not None:
                    return answer
            draw_consent(screen, text)
            pygame.display.flip()
            time.sleep(FRAME_S)

    def rest(self, seconds: float, next_part: int, parts: int) -> None:
        """A break until `seconds` pass or space is pressed.

        Raises:
            SessionEndedByUser: On q, Escape or closing the window.
        """
        import pygame

        screen = self._open()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for event in pygame.event.get():
                action = key_action(event)
                if action == "pause":
                    return
                if action == "quit":
                    raise SessionEndedByUser(
                        f"the participant stopped at the break before part {next_part}; "
                        "every completed part is saved, and the same command goes on."
                    )
            draw_rest(screen, left, next_part, parts)
            pygame.display.flip()
            time.sleep(FRAME_S)


def participant_screens(viewer: str) -> ParticipantScreens:
    """The screens a participant at `viewer` sees: the one place that chooses them.

    A pygame window on this machine's screen, where the sessions' live window (or the browser
    page on this machine) is too.

    Raises:
        StudyError: For a participant's page served off this machine, or on a port chosen
            afresh for each session: a participant elsewhere would see neither the consent
            text nor the breaks, and a page could not follow from one condition to the next.
    """
    from laetitia.app.web.server import is_loopback
    from laetitia.viewers.spec import browser_address, parse_viewer_spec

    spec = parse_viewer_spec(viewer)
    if spec.kind == "browser":
        host, port = browser_address(spec)
        elsewhere = not is_loopback(host)
        if elsewhere or port == 0:
            where = f"off this machine ({host})" if elsewhere else "on any free port"
            raise StudyError(
                f"the study's viewer {viewer!r} serves the participant's page {where}; a "
                "study shows its consent text and breaks on this machine's screen, and each "
                "condition's page at the same address. Seat the participant at this machine: "
                'viewer = "webcam", or "browser" on the loopback (a fixed port, the page open '
                "on this screen)."
            )
    return PygameScreens()
