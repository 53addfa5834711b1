"""Drawing the emoticon with pygame, into an RGB array or a window.

The face is a yellow disc of radius `R` pixels; a point (x, y) in face units (y up) sits at pixel
(cx + x·R, cy − y·R). Everything is drawn at twice the size and smoothed down, so edges are
anti-aliased without any drawing primitive pygame lacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace

if TYPE_CHECKING:
    from pygame import Surface

FACE_YELLOW = (255, 205, 40)
OUTLINE = (120, 80, 0)
INK = (25, 20, 15)
WHITE = (255, 255, 255)
BACKGROUND = (245, 245, 245)

FACE_FRACTION = 0.45
"""Face radius as a fraction of the image side."""
EYE_RADIUS = 0.16
"""Radius of the white of each eye, in face units."""
BROW_HALF_LENGTH = 0.14
MOUTH_X = 0.4
"""The mouth spans x in [-MOUTH_X, MOUTH_X]."""
SUPERSAMPLE = 2


def render(
    params: Sequence[float] | np.ndarray, size: int = 256, space: ParamSpace = PARAM_SPACE
) -> np.ndarray:
    """Draw the emoticon for a raw parameter vector.

    Args:
        params: One value per parameter of `space`, in raw units (clipped to the bounds).
        size: Side of the square image in pixels.
        space: The parameter space `params` belongs to.

    Returns:
        uint8 array of shape (size, size, 3), RGB.

    Raises:
        ParameterError: If `params` has the wrong length.
        ValueError: If `size` is smaller than 16 pixels.
    """
    import pygame

    if size < 16:
        raise ValueError(f"render size must be at least 16 pixels, got {size}.")
    values = space.to_dict(space.clip(params))
    big = size * SUPERSAMPLE
    surface = pygame.Surface((big, big))
    surface.fill(BACKGROUND)
    _draw_face(surface, values, big)
    small = pygame.transform.smoothscale(surface, (size, size))
    return np.ascontiguousarray(pygame.surfarray.array3d(small).transpose(1, 0, 2))


def _draw_face(surface: Surface, v: dict[str, float], side: int) -> None:
    import pygame

    cx = cy = side / 2.0
    radius = FACE_FRACTION * side

    def px(x: float, y: float) -> tuple[float, float]:
        return (cx + x * radius, cy - y * radius)

    def width(units: float) -> int:
        return max(1, round(units * radius))

    pygame.draw.circle(surface, FACE_YELLOW, (cx, cy), radius)
    pygame.draw.circle(surface, OUTLINE, (cx, cy), radius, width(0.03))

    for side_sign in (-1.0, 1.0):
        ex = side_sign * v["r"] * math.sin(v["t"])
        ey = v["r"] * math.cos(v["t"])
        pygame.draw.circle(surface, WHITE, px(ex, ey), EYE_RADIUS * radius)
        pygame.draw.circle(surface, INK, px(ex, ey), EYE_RADIUS * radius, width(0.02))
        if v["s"] > 0:
            pygame.draw.circle(surface, INK, px(ex, ey), v["s"] * radius)
        # Mirrored slant: for er > 0 the end nearer the face's midline is the higher one.
        brow = [
            px(ex + dx, ey + v["ey"] + EYE_RADIUS - v["er"] * side_sign * dx)
            for dx in (-BROW_HALF_LENGTH, BROW_HALF_LENGTH)
        ]
        pygame.draw.line(surface, INK, brow[0], brow[1], width(0.045))

    xs = np.linspace(-MOUTH_X, MOUTH_X, 64)
    ys = -0.35 + v["a"] * xs + v["b"] * xs**2 + v["c"] * xs**3
    mouth = [px(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    pygame.draw.lines(surface, INK, False, mouth, width(0.05))
    for end in (mouth[0], mouth[-1]):
        pygame.draw.circle(surface, INK, end, width(0.05) / 2)
