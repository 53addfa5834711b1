"""The participant's consent and break screens (pygame, drawn off-screen here)."""

import numpy as np
import pygame
import pytest

from laetitia.app.study import screens
from laetitia.app.study.screens import (
    PygameScreens,
    consent_answer,
    draw_consent,
    draw_rest,
    wrap,
)
from laetitia.errors import SessionEndedByUser
from laetitia.viewers.live_window import BACKGROUND, WINDOW_SIZE


def _key(name: str) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=pygame.key.key_code(name))


@pytest.fixture(autouse=True)
def display():
    pygame.display.init()
    yield
    pygame.display.quit()


def test_a_accepts_and_d_q_escape_or_closing_decline():
    assert consent_answer(_key("a")) is True
    for event in (_key("d"), _key("q"), _key("escape"), pygame.event.Event(pygame.QUIT)):
        assert consent_answer(event) is False
    assert consent_answer(_key("space")) is None and consent_answer(_key("x")) is None


def test_the_consent_text_is_drawn_wrapped_within_the_window():
    pygame.font.init()
    font = pygame.font.Font(None, 26)
    text = "word " * 200 + "\n\nSecond paragraph."
    lines = wrap(text, font, 500)
    assert len(lines) > 10 and "" in lines and lines[-1] == "Second paragraph."
    assert all(font.size(line)[0] <= 500 for line in lines)
    surface = pygame.Surface(WINDOW_SIZE)
    draw_consent(surface, text)
    pixels = pygame.surfarray.array3d(surface)
    assert (pixels != np.array(BACKGROUND)).any(axis=-1).mean() > 0.02  # text, not a blank
    draw_rest(surface, 12.0, 2, 3)
    assert (pygame.surfarray.array3d(surface) != np.array(BACKGROUND)).any()


def test_the_window_answers_with_the_key_pressed_and_a_break_ends_on_space_or_stops_on_q(
    monkeypatch,
):
    pressed: list[list[pygame.event.Event]] = []
    monkeypatch.setattr(pygame.event, "get", lambda: pressed.pop(0) if pressed else [])
    monkeypatch.setattr(screens, "FRAME_S", 0.0)
    window = PygameScreens()
    pressed[:] = [[], [_key("x")], [_key("a")]]
    assert window.consent("Do you agree?") is True
    pressed[:] = [[_key("d")]]
    assert window.consent("Do you agree?") is False
    pressed[:] = [[], [_key("space")]]
    window.rest(60.0, 2, 2)  # returns on space, long before the minute
    pressed[:] = [[_key("q")]]
    with pytest.raises(SessionEndedByUser, match="break before part 2"):
        window.rest(60.0, 2, 2)
    window.close()
