"""The participant's screen: the emoticon alone on a plain background (drawn off-screen)."""

import threading
import time

import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE
from laetitia.emoticon.render import render
from laetitia.errors import ConfigError
from laetitia.viewers.participant_window import (
    BACKGROUND,
    PAUSED_TEXT,
    ParticipantWindow,
    draw_participant,
)
from laetitia.viewers.stage import Screen, parse_screen

pygame = pytest.importorskip("pygame")
SIZE = (320, 240)
EMOTICON = render(PARAM_SPACE.defaults, 128)


def pixels(surface):
    return pygame.surfarray.array3d(surface).transpose(1, 0, 2)


def drawn(emoticon, message=None):
    surface = pygame.Surface(SIZE)
    draw_participant(surface, emoticon, message)
    return pixels(surface)


def test_the_participant_sees_the_emoticon_alone_on_a_plain_background():
    shown = drawn(EMOTICON)
    side = round(min(SIZE) * 0.8)
    left, top = (SIZE[0] - side) // 2, (SIZE[1] - side) // 2
    outside = np.ones(shown.shape[:2], bool)
    outside[top : top + side, left : left + side] = False
    assert np.all(shown[outside] == BACKGROUND)  # nothing but the emoticon: no gauge, no text
    assert not np.all(shown[~outside] == BACKGROUND)
    assert np.all(drawn(None) == BACKGROUND)  # the blank between two emoticons


def test_a_message_takes_the_emoticon_s_place():
    shown = drawn(EMOTICON, PAUSED_TEXT)
    assert not np.all(shown == BACKGROUND)  # the text
    middle = shown[SIZE[1] // 2 - 40 : SIZE[1] // 2 + 40].reshape(-1, 3).astype(int)
    assert np.all(middle.max(axis=1) - middle.min(axis=1) <= 2)  # grey text: no emoticon colour


def test_the_window_shows_instructions_first_and_a_blank_between_emoticons():
    screen = parse_screen("participant:320x240", blank_s=0.2, instructions="Look at the face.")
    window = ParticipantWindow(screen)
    assert window._open().get_size() == SIZE
    assert window.message is None

    def press_space_once_reading():
        time.sleep(0.2)
        assert window.message.startswith("Look at the face.")
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))

    threading.Thread(target=press_space_once_reading).start()
    window.hold(0)  # returns when the participant has read the instructions
    assert not window.control.paused and window.message is None
    window.present(EMOTICON, 0)
    began = time.monotonic()
    shown = window.present(EMOTICON, 1)  # the screen goes blank for blank_s first
    assert shown - began >= 0.2
    assert window.state.emoticon is EMOTICON
    window.control.pause("dashboard")
    window.poll()
    assert window.message == PAUSED_TEXT  # the emoticon is hidden while paused
    window.close()


@pytest.mark.parametrize(
    "text, field",
    [("participant:wide", "screen"), ("projector", "screen"), ("participant:10x10", "screen")],
)
def test_a_screen_of_another_form_is_refused_naming_the_setting(text, field):
    with pytest.raises(ConfigError) as refused:
        parse_screen(text)
    assert refused.value.field == field


def test_a_blank_or_instructions_need_the_participant_s_screen():
    with pytest.raises(ConfigError) as refused:
        Screen("full", blank_s=0.3)
    assert refused.value.field == "blank_s" and refused.value.mentions == ("screen=participant",)
    with pytest.raises(ConfigError, match="0 to 10"):
        Screen("participant", blank_s=-1)
