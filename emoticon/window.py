"""A pygame window that shows RGB frames: the `human` render mode's screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pygame import Surface


class EmoticonWindow:
    """A window, opened on the first `show`, that displays RGB arrays at their own size."""

    def __init__(self, title: str = "laetitia") -> None:
        self.title = title
        self._screen: Surface | None = None

    def show(self, image: np.ndarray) -> None:
        """Display an RGB uint8 (H, W, 3) image and process window events."""
        import pygame

        height, width = image.shape[:2]
        if self._screen is None:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode((width, height))
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(image.transpose(1, 0, 2)))
        self._screen.blit(surface, (0, 0))
        pygame.event.pump()
        pygame.display.flip()

    def close(self) -> None:
        """Close the window if it is open."""
        if self._screen is not None:
            import pygame

            pygame.display.quit()
            self._screen = None
