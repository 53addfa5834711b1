import math
import threading

import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE
from laetitia.emoticon.render import render
from laetitia.errors import SessionEndedByUser
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.types import Reaction
from laetitia.viewers.live_window import (
    CURVE,
    CURVE_LINE,
    FACE_BOX,
    GAUGE,
    GAUGE_FILL,
    NO_FACE,
    PREVIEW,
    PROB_BAR,
    WINDOW_SIZE,
    LiveState,
    LiveWindow,
    draw_live,
)

pygame = pytest.importorskip("pygame")


def _draw(state):
    surface = pygame.Surface(WINDOW_SIZE)
    draw_live(surface, state)
    return pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # (H, W, 3)


def _has(pixels, rect, colour):
    x, y, w, h = (int(v) for v in rect)
    return bool(np.all(pixels[y : y + h, x : x + w] == colour, axis=-1).any())


def _reaction(happy, faces):
    faces = np.asarray(faces, dtype=bool)
    probs = np.full((faces.size, len(EMOTIONS)), 0.0, dtype=np.float32)
    probs[:, EMOTIONS.index(HAPPY)] = happy
    probs[~faces] = np.nan
    boxes = np.tile(np.array([20, 10, 30, 30], np.float32), (faces.size, 1))
    boxes[~faces] = np.nan
    frames = tuple(np.full((72, 128, 3), 90, np.uint8) for _ in faces)
    return Reaction(probs=probs, has_face=faces, boxes=boxes, frames=frames)


def test_the_gauge_fills_in_proportion_to_happiness():
    x, y, w, h = GAUGE
    left, right = (x + 0.1 * w, y + 2, 4, h - 12), (x + 0.9 * w, y + 2, 4, h - 12)
    pixels = _draw(LiveState(happiness=0.75))
    assert _has(pixels, left, GAUGE_FILL) and not _has(pixels, right, GAUGE_FILL)
    assert not _has(_draw(LiveState(happiness=float("nan"))), left, GAUGE_FILL)  # no face


def test_the_gauge_shows_the_session_signal_by_its_name():
    window = LiveWindow()
    smile = _reaction(0.9, [True, True, False])  # P(happy) says 0.9, the smile says otherwise
    smile = Reaction(
        probs=smile.probs,
        has_face=smile.has_face,
        boxes=smile.boxes,
        frames=smile.frames,
        signal="smile",
        values=np.array([0.3, 0.5, np.nan], np.float32),
    )
    window.show_reaction(smile)
    assert window.state.signal_label == "smile"  # not "P(happy)": it is not
    assert window.state.happiness == pytest.approx(0.4)
    assert window.state.frame_happiness[:2] == pytest.approx((0.3, 0.5))
    calibrated = Reaction(**{**smile.__dict__, "extras": {"raw_signal": 0.4}})
    window.show_reaction(calibrated)
    assert window.state.signal_label == "smile, calibrated"
    window.show_reaction(_reaction(0.6, [True]))
    assert window.state.signal_label == "P(happy)"
    window.close()


def test_the_curve_and_the_face_box_are_drawn_from_the_steps():
    window = LiveWindow()
    window.show_emoticon(render(PARAM_SPACE.defaults, 64))
    empty = _draw(window.state)
    assert not _has(empty, CURVE, CURVE_LINE) and not _has(empty, PREVIEW, FACE_BOX)
    for happy in (0.2, 0.6, 0.4):
        window.show_reaction(_reaction(happy, [True, True]))
        assert window.state.happiness == pytest.approx(happy)  # the gauge: this reading
        window.show_reward(happy, True)
    pixels = _draw(window.state)
    assert _has(pixels, CURVE, CURVE_LINE) and _has(pixels, PREVIEW, FACE_BOX)
    assert window.state.step == 3 and window.state.rewards == pytest.approx([0.2, 0.6, 0.4])
    # The face leaves: no box and no gauge; the curve takes the reward the env gives.
    window.show_reaction(_reaction(0.0, [False, False]))
    assert not _has(_draw(window.state), PREVIEW, FACE_BOX) and math.isnan(window.state.happiness)
    assert len(window.state.rewards) == 3  # nothing on the curve until the env says
    window.show_reward(0.0, False)  # e.g. the first step of a new episode carries 0.0
    assert window.state.scored[-1] is False and window.state.rewards[-1] == 0.0
    window.close()


def test_space_pauses_the_wait_until_pressed_again():
    window = LiveWindow()
    window.poll()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
    window.poll()
    assert window.state.paused
    resumed = threading.Event()

    def press_space():
        resumed.set()
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))

    threading.Timer(0.2, press_space).start()
    window.wait(0.0)  # holds while paused
    assert resumed.is_set() and not window.state.paused
    window.close()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "KEYDOWN", "key": "K_q"},
        {"type": "KEYDOWN", "key": "K_ESCAPE"},
        {"type": "QUIT"},
    ],
)
def test_q_escape_or_closing_ends_the_session(event):
    window = LiveWindow(first_step=7)
    window.poll()
    fields = {"key": getattr(pygame, event["key"])} if "key" in event else {}
    pygame.event.post(pygame.event.Event(getattr(pygame, event["type"]), **fields))
    with pytest.raises(SessionEndedByUser, match="step 7"):
        window.wait(5.0)
    window.close()


def test_the_probabilities_take_the_place_of_a_frame_not_kept():
    probs = np.full(len(EMOTIONS), 0.05)
    probs[EMOTIONS.index(HAPPY)] = 0.7
    pixels = _draw(LiveState(probs=probs, probs_title="frame 3: no image kept"))
    assert _has(pixels, PREVIEW, GAUGE_FILL) and _has(pixels, PREVIEW, PROB_BAR)
    x, y, w, h = PREVIEW
    gold = np.all(pixels[y : y + h, x : x + w] == GAUGE_FILL, axis=-1).any(axis=0)
    assert np.flatnonzero(gold).size == round((w - 80 - 48) * 0.7)  # as long as P(happy)
    no_face = _draw(LiveState(probs=np.full(len(EMOTIONS), np.nan)))
    assert not _has(no_face, PREVIEW, GAUGE_FILL) and _has(no_face, PREVIEW, NO_FACE)
    assert not _has(_draw(LiveState()), PREVIEW, PROB_BAR)  # no probabilities: "no camera image"
