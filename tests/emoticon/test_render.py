import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE, EmoticonWindow, render
from laetitia.emoticon.render import FACE_YELLOW
from laetitia.errors import ParameterError

SIZE = 128


def _with(**changes):
    named = PARAM_SPACE.to_dict(PARAM_SPACE.defaults)
    named.update(changes)
    return PARAM_SPACE.from_dict(named)


def _ink_rows(image, col):
    """Rows (top = 0) of dark pixels in a column."""
    return np.flatnonzero(image[:, col].sum(axis=1) < 200)


def test_render_is_rgb_of_the_requested_size_with_a_yellow_face():
    image = render(PARAM_SPACE.defaults, SIZE)
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    # A point on the cheek (left of centre, between eyes and mouth) is the face colour.
    cheek = image[SIZE // 2, SIZE // 2 - SIZE // 4]
    np.testing.assert_allclose(cheek, FACE_YELLOW, atol=12)


def test_grin_and_frown_differ_where_the_mouth_is_and_not_at_the_eyes():
    grin = render(_with(b=1.2), SIZE).astype(int)
    frown = render(_with(b=-1.2), SIZE).astype(int)
    differs = np.abs(grin - frown).sum(axis=2) > 60
    rows = np.flatnonzero(differs.any(axis=1))
    centre, radius = SIZE / 2, 0.45 * SIZE
    # All differences lie in the lower half of the face, where the mouth is drawn.
    assert rows.size > 0
    assert rows.min() > centre and rows.max() < centre + 0.7 * radius


def test_a_grin_curves_up_and_a_frown_curves_down():
    centre, radius = SIZE // 2, 0.45 * SIZE
    middle, corner = centre, int(centre + 0.38 * radius)
    for b, corners_higher in [(1.2, True), (-1.2, False)]:
        image = render(_with(b=b), SIZE)
        mouth_middle = _ink_rows(image, middle)[-1]  # lowest ink in the middle column is mouth
        mouth_corner = _ink_rows(image, corner)
        mouth_corner = mouth_corner[mouth_corner > centre].mean()
        assert (mouth_corner < mouth_middle) == corners_higher


def test_every_parameter_changes_the_drawing():
    base = render(PARAM_SPACE.defaults, SIZE)
    for i, name in enumerate(PARAM_SPACE.names):
        moved = PARAM_SPACE.defaults.copy()
        moved[i] = PARAM_SPACE.high[i] if moved[i] < PARAM_SPACE.high[i] else PARAM_SPACE.low[i]
        assert not np.array_equal(render(moved, SIZE), base), name


def test_render_refuses_a_wrong_parameter_vector():
    with pytest.raises(ParameterError):
        render([0.1, 0.2], SIZE)


def test_window_shows_the_image_headless():
    import pygame

    window = EmoticonWindow()
    image = render(PARAM_SPACE.defaults, SIZE)
    window.show(image)
    shown = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
    np.testing.assert_array_equal(shown, image)
    window.close()
    assert not pygame.display.get_init()
