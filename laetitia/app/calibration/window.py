"""The live calibration's window: the camera preview, what to do now, and how long it lasts.

    window = CalibrationWindow()
    window.show(frame_bgr, box, "Now smile!", seconds_left=2.4)   # raises if the person quits
    window.close()

It is the `PromptDisplay` that `laetitia.app.calibration.live.record_prompted` shows prompts on.
`draw_prompt` draws on any pygame surface (a window, or an off-screen surface in tests);
`CalibrationWindow` owns the display and turns `q`, Escape or closing the window into a
`CalibrationError` (nothing has been written by then). The window never writes an image.
Headless machines run it with `SDL_VIDEODRIVER=dummy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from laetitia.errors import CalibrationError
from laetitia.viewers.live_window import BACKGROUND, DIM, FACE_BOX, NO_FACE, PANEL, key_action

if TYPE_CHECKING:
    from pygame import Surface

WINDOW_SIZE = (800, 600)
"""(width, height) of the window in pixels."""
MARGIN = 20
PROMPT_Y = 470
"""Top of the prompt text; the preview fills the window above it."""
PREVIEW = (MARGIN, MARGIN, WINDOW_SIZE[0] - 2 * MARGIN, PROMPT_Y - 2 * MARGIN)
TEXT = (240, 240, 240)
"""The prompt's colour (brighter than the live window's text: it is read from afar)."""


def draw_prompt(
    surface: Surface,
    frame_bgr: np.ndarray | None,
    box: np.ndarray | None,
    text: str,
    seconds_left: float,
) -> None:
    """Draw the preview with the face box, the prompt and the countdown on a surface."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    big, small = pygame.font.Font(None, 56), pygame.font.Font(None, 24)
    surface.fill(BACKGROUND)
    pygame.draw.rect(surface, PANEL, PREVIEW)
    if frame_bgr is not None:
        height, width = frame_bgr.shape[:2]
        scale = min(PREVIEW[2] / width, PREVIEW[3] / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1].transpose(1, 0, 2))
        image = pygame.transform.smoothscale(pygame.surfarray.make_surface(rgb), size)
        left = PREVIEW[0] + (PREVIEW[2] - size[0]) // 2
        top = PREVIEW[1] + (PREVIEW[3] - size[1]) // 2
        surface.blit(image, (left, top))
        if box is not None and np.all(np.isfinite(box)):
            x, y, w, h = (float(v) * scale for v in box)
            pygame.draw.rect(surface, FACE_BOX, (left + x, top + y, max(w, 2), max(h, 2)), 3)
        else:
            label = small.render("no face found: face the camera, in good light", True, NO_FACE)
            surface.blit(label, (PREVIEW[0] + 8, PREVIEW[1] + PREVIEW[3] - 26))
    surface.blit(big.render(text, True, TEXT), (MARGIN, PROMPT_Y))
    count = small.render(f"{max(seconds_left, 0.0):4.1f} s    q: stop", True, DIM)
    surface.blit(count, (MARGIN, PROMPT_Y + 60))


class CalibrationWindow:
    """The pygame window of a live calibration; opened on the first `show`.

    Args:
        title: The window's title.
    """

    def __init__(self, title: str = "laetitia calibrate") -> None:
        self.title = title
        self._screen: Surface | None = None

    def show(
        self, frame_bgr: np.ndarray | None, box: np.ndarray | None, text: str, seconds_left: float
    ) -> None:
        """Draw one frame of the calibration and handle the window's events.

        Raises:
            CalibrationError: If the person pressed q or Escape, or closed the window.
        """
        import pygame

        if self._screen is None:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode(WINDOW_SIZE)
        for event in pygame.event.get():
            if key_action(event) == "quit":
                raise CalibrationError(
                    "calibration stopped from its window; nothing was written. Run "
                    "`laetitia calibrate` again when ready."
                )
        draw_prompt(self._screen, frame_bgr, box, text, seconds_left)
        pygame.display.flip()

    def close(self) -> None:
        """Close the window if it is open."""
        if self._screen is not None:
            import pygame

            pygame.display.quit()
            self._screen = None
