"""The live session window (`--screen full`): the emoticon beside the reading, and its keys.

    window = LiveWindow()
    window.wait(0.5)                      # settle time; holds while paused; q / close end it
    window.show_emoticon(image_rgb)       # the emoticon, large
    window.show_reaction(reaction)        # camera preview with the face box, the gauge
    window.show_reward(reward, scored)    # the env's reward, added to the curve

It is the demo's view, for a person alone: they see their own reading. A study shows its
participant the emoticon alone (`laetitia.viewers.participant_window`) and the reading to the
experimenter (the dashboard, `laetitia.app.web`). The window is a `Stage`
(`laetitia.viewers.stage`): `hold`, `present` and `check` are what a live viewer calls.

Drawing is apart from the logic: `LiveState` is what the window shows, `draw_live` draws a
state on any pygame surface (a window, or an off-screen surface in tests), and `LiveWindow`
keeps the state, owns the display and turns key presses into actions with `key_action`.

Keys: space pauses (the next emoticon waits until space is pressed again; a step being read
starts again after the pause, with the full settle time), `q`, Escape or closing the window end
the session: `LiveWindow` raises `SessionEndedByUser` (during a reading, that reading is
dropped; once a step's reading is shown, that step completes and the session ends before the
next emoticon), and `laetitia train` saves what was recorded and stops. The keys act through
the window's `SessionControl` (`laetitia.viewers.control`), which a dashboard may share: its
buttons then act exactly as the keys do.

The window opens on first use; it never writes an image anywhere unless `screenshot` is called.
Where a frame's image was not kept (`--no-frames`) or the viewer has no camera, `draw_live`
shows the class probabilities (`LiveState.probs`) in place of the preview; `laetitia video`
draws recorded sessions that way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from laetitia.cameras import FramesInterrupted
from laetitia.errors import ConfigError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.types import Reaction
from laetitia.viewers.control import SessionControl

if TYPE_CHECKING:
    from pygame import Surface
    from pygame.font import Font

WINDOW_SIZE = (960, 600)
"""(width, height) of the window in pixels; the layout below is in these pixels."""
MARGIN = 20
EMOTICON_SIDE = WINDOW_SIZE[1] - 2 * MARGIN
"""The emoticon fills the left square of the window."""
PANEL_X = EMOTICON_SIDE + 2 * MARGIN
PANEL_W = WINDOW_SIZE[0] - PANEL_X - MARGIN
PREVIEW = (PANEL_X, MARGIN, PANEL_W, PANEL_W * 9 // 16)
"""Camera preview rectangle (x, y, w, h); frames are fitted inside, keeping their shape."""
GAUGE = (PANEL_X, PREVIEW[1] + PREVIEW[3] + 36, PANEL_W, 34)
"""Happiness gauge rectangle: filled from the left in proportion to P(happy)."""
STEP_TEXT = (PANEL_X, GAUGE[1] + GAUGE[3] + 14)
CURVE = (PANEL_X, STEP_TEXT[1] + 40, PANEL_W, WINDOW_SIZE[1] - STEP_TEXT[1] - 40 - 2 * MARGIN)
"""Reward curve rectangle: steps along x, reward 0..1 along y."""
KEYS_TEXT = (PANEL_X, WINDOW_SIZE[1] - MARGIN - 14)

BACKGROUND = (30, 32, 38)
PANEL = (48, 51, 60)
TEXT = (230, 230, 230)
DIM = (140, 140, 150)
FACE_BOX = (60, 220, 90)
NO_FACE = (230, 80, 70)
GAUGE_FILL = (250, 190, 40)
CURVE_LINE = (250, 190, 40)
UNSCORED = (110, 110, 120)
PAUSED = (90, 160, 250)
PROB_BAR = (120, 150, 200)
"""Bars of the classes other than happy (happy's is `GAUGE_FILL`) in the probabilities panel."""
KEYS_HELP = "space: pause    q: end and save"
"""The footer of the live window: its keys."""

CURVE_STEPS = 200
"""The curve shows the last this many steps."""
FRAME_S = 1 / 30
"""How often the window handles events while it waits."""


@dataclass
class LiveState:
    """Everything the live window shows."""

    emoticon: np.ndarray | None = None
    """The emoticon on show, RGB uint8 (H, W, 3)."""
    preview: np.ndarray | None = None
    """The last camera frame, BGR uint8 (H, W, 3); None when the viewer has no pixels."""
    box: np.ndarray | None = None
    """Face box x, y, w, h in preview pixels, or None when no face was found."""
    happiness: float = math.nan
    """The signal's mean over the last step's frames with a face; NaN when none had a face."""
    frame_happiness: tuple[float, ...] = ()
    """The signal's value in each frame of the last step (NaN where no face)."""
    signal_label: str = "P(happy)"
    """How the gauge names the signal (`laetitia.signals.Signal.label`; "calibrated" added
    when a person's profile maps it)."""
    step: int = 0
    """The step on show (its number in `steps.csv`)."""
    rewards: list[float] = field(default_factory=list)
    """Reward of each step so far (unscored steps carry the previous reward)."""
    scored: list[bool] = field(default_factory=list)
    """Whether each step saw a face."""
    paused: bool = False
    """Whether the person paused the session."""
    ending: bool = False
    """Whether the person asked to end the session (q, Escape, closing the window)."""
    probs: np.ndarray | None = None
    """Class probabilities to show where the preview would be, float (n_classes,), when there
    is no image (`preview` is None): a frame whose image was not kept, or a viewer without a
    camera. NaN where no face was found; None shows "no camera image"."""
    probs_title: str = "P(class)"
    """The heading of the probabilities panel: what `probs` are of."""
    class_names: tuple[str, ...] = EMOTIONS
    """The classes of `probs`, in order."""
    footer: str = KEYS_HELP
    """The line at the bottom: the keys of the live window, or a caption (a recorded video)."""


def signal_label(signal: str, calibrated: bool = False) -> str:
    """How a gauge or a figure names a signal's values (a profile's are a calibrated P(smile))."""
    from laetitia.signals import get_signal

    label = get_signal(signal).label
    return f"{label}, calibrated" if calibrated else label


def key_action(event: object) -> str | None:
    """What a pygame event asks for: "pause" (space), "quit" (q, Escape, closing), or None."""
    import pygame

    kind = getattr(event, "type", None)
    if kind in (pygame.QUIT, getattr(pygame, "WINDOWCLOSE", pygame.QUIT)):
        return "quit"
    if kind == pygame.KEYDOWN:
        key = getattr(event, "key", None)
        if key == pygame.K_SPACE:
            return "pause"
        if key in (pygame.K_q, pygame.K_ESCAPE):
            return "quit"
    return None


def draw_live(surface: Surface, state: LiveState) -> None:
    """Draw a state on a pygame surface of `WINDOW_SIZE`."""
    import pygame

    surface.fill(BACKGROUND)
    font = _font(22)
    small = _font(18)
    _draw_emoticon(surface, state.emoticon)
    _draw_preview(surface, state, small)
    _draw_gauge(surface, state, small)
    status = "  PAUSED (space to go on)" if state.paused else ""
    surface.blit(
        font.render(f"step {state.step}{status}", True, PAUSED if state.paused else TEXT),
        STEP_TEXT,
    )
    _draw_curve(surface, state, small)
    surface.blit(small.render(state.footer, True, DIM), KEYS_TEXT)
    if state.paused:
        pygame.draw.rect(surface, PAUSED, (0, 0, *surface.get_size()), 4)


def _font(size: int) -> Font:
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, size)


def _blit_array(surface: Surface, rgb: np.ndarray, rect: tuple[int, int, int, int]) -> float:
    """Fit an RGB array inside `rect`, centred, keeping its shape; returns the scale used."""
    import pygame

    height, width = rgb.shape[:2]
    scale = min(rect[2] / width, rect[3] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.transpose(1, 0, 2)))
    image = pygame.transform.smoothscale(image, size)
    surface.blit(image, (rect[0] + (rect[2] - size[0]) // 2, rect[1] + (rect[3] - size[1]) // 2))
    return scale


def _draw_emoticon(surface: Surface, emoticon: np.ndarray | None) -> None:
    import pygame

    rect = (MARGIN, MARGIN, EMOTICON_SIDE, EMOTICON_SIDE)
    if emoticon is None:
        pygame.draw.rect(surface, PANEL, rect)
        return
    _blit_array(surface, emoticon, rect)


def _draw_preview(surface: Surface, state: LiveState, font: Font) -> None:
    import pygame

    pygame.draw.rect(surface, PANEL, PREVIEW)
    if state.preview is None:
        if state.probs is None:
            surface.blit(
                font.render("no camera image", True, DIM), (PREVIEW[0] + 8, PREVIEW[1] + 8)
            )
        else:
            _draw_probs(surface, state, font)
        return
    frame = state.preview
    rgb = frame[:, :, ::-1] if frame.ndim == 3 else np.repeat(frame[:, :, None], 3, axis=2)
    scale = _blit_array(surface, rgb, PREVIEW)
    height, width = frame.shape[:2]
    left = PREVIEW[0] + (PREVIEW[2] - round(width * scale)) // 2
    top = PREVIEW[1] + (PREVIEW[3] - round(height * scale)) // 2
    if state.box is not None and np.all(np.isfinite(state.box)):
        x, y, w, h = (float(v) * scale for v in state.box)
        pygame.draw.rect(surface, FACE_BOX, (left + x, top + y, max(w, 2), max(h, 2)), 2)
    else:
        label = font.render("no face in view: not scored", True, NO_FACE)
        surface.blit(label, (PREVIEW[0] + 8, PREVIEW[1] + PREVIEW[3] - 22))


def _draw_probs(surface: Surface, state: LiveState, font: Font) -> None:
    """One bar per class, from the left in proportion to its probability; happy's in gold."""
    import pygame

    assert state.probs is not None and len(state.probs) == len(state.class_names)
    x, y, w, h = PREVIEW
    surface.blit(font.render(state.probs_title, True, DIM), (x + 8, y + 6))
    if not np.isfinite(state.probs).any():
        label = font.render("no face in view: not scored", True, NO_FACE)
        surface.blit(label, (x + 8, y + h - 22))
        return
    top, row = y + 26, (h - 30) / len(state.class_names)
    left, right = x + 80, x + w - 48  # names before the bars, values after
    for i, (name, p) in enumerate(zip(state.class_names, state.probs, strict=True)):
        row_y = round(top + i * row)
        surface.blit(font.render(name, True, TEXT), (x + 8, row_y + 2))
        value = min(max(float(p), 0.0), 1.0)
        colour = GAUGE_FILL if name == HAPPY else PROB_BAR
        pygame.draw.rect(surface, colour, (left, row_y + 2, round((right - left) * value), row - 5))
        surface.blit(font.render(f"{value:.2f}", True, TEXT), (right + 6, row_y + 2))


def _draw_gauge(surface: Surface, state: LiveState, font: Font) -> None:
    import pygame

    x, y, w, h = GAUGE
    surface.blit(font.render(state.signal_label, True, DIM), (x, y - 20))
    pygame.draw.rect(surface, PANEL, GAUGE)
    if math.isnan(state.happiness):
        surface.blit(font.render("no face", True, NO_FACE), (x + 8, y + h // 2 - 6))
    else:
        fill = round(w * min(max(state.happiness, 0.0), 1.0))
        pygame.draw.rect(surface, GAUGE_FILL, (x, y, fill, h))
        value = font.render(f"{state.happiness:.2f}", True, TEXT)
        surface.blit(value, (x + w - value.get_width(), y - 20))
    for p in state.frame_happiness:  # one tick per frame of the last reading
        if not math.isnan(p):
            tick = x + round(w * min(max(p, 0.0), 1.0))
            pygame.draw.line(surface, TEXT, (tick, y + h - 8), (tick, y + h - 1), 2)
    pygame.draw.rect(surface, DIM, GAUGE, 1)


def _draw_curve(surface: Surface, state: LiveState, font: Font) -> None:
    import pygame

    x, y, w, h = CURVE
    pygame.draw.rect(surface, PANEL, CURVE)
    surface.blit(font.render("reward per step", True, DIM), (x + 6, y + 4))
    for level in (0.5, 1.0):  # faint guides at rewards 0.5 and 1
        guide_y = y + h - 4 - (h - 28) * level
        pygame.draw.line(surface, BACKGROUND, (x + 2, guide_y), (x + w - 2, guide_y))
    rewards = state.rewards[-CURVE_STEPS:]
    scored = state.scored[-CURVE_STEPS:]
    if not rewards:
        return
    first = len(state.rewards) - len(rewards)
    span = max(len(rewards) - 1, 1)

    def point(i: int, value: float) -> tuple[float, float]:
        return (x + 4 + (w - 8) * i / span, y + h - 4 - (h - 28) * min(max(value, 0.0), 1.0))

    run: list[tuple[float, float]] = []
    for i, (value, ok) in enumerate(zip(rewards, scored, strict=True)):
        if ok:
            run.append(point(i, value))
            continue
        # An unscored step is a gap in the curve, marked at the bottom, never a zero.
        pygame.draw.line(surface, UNSCORED, (point(i, 0)[0], y + h - 10), (point(i, 0)[0], y + h))
        _polyline(surface, run)
        run = []
    _polyline(surface, run)
    label = font.render(f"steps {first}-{first + len(rewards) - 1}", True, DIM)
    surface.blit(label, (x + w - label.get_width() - 6, y + 4))


def _polyline(surface: Surface, points: list[tuple[float, float]]) -> None:
    import pygame

    if len(points) == 1:
        pygame.draw.circle(surface, CURVE_LINE, points[0], 2)
    elif points:
        pygame.draw.lines(surface, CURVE_LINE, False, points, 2)


class PersonWindow:
    """A pygame window the person sees, opened on first use (`open_window`).

    Args:
        title: The window's title.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._screen: Surface | None = None

    def close(self) -> None:
        """Close the window if it is open."""
        if self._screen is not None:
            close_window()
            self._screen = None

    def _open(self) -> Surface:
        if self._screen is None:
            self._screen = open_window(self.title, self._size())
        return self._screen

    def _size(self) -> tuple[int, int] | None:
        """The window's size in pixels; None for the full screen."""
        return WINDOW_SIZE


class LiveWindow(PersonWindow):
    """The pygame window of a live session; opened on first use.

    Args:
        title: The window's title.
        first_step: Number of the first step it will show (non-zero when a session resumes).
        rewards: Rewards of the steps already recorded (a resumed session's curve).
        scored: Whether each of those steps saw a face.
        control: The session's pause and end, shared with a dashboard; None for its own.
    """

    by = "live window"
    """Who the window's keys pause or end the session as."""

    def __init__(
        self,
        title: str = "laetitia",
        first_step: int = 0,
        rewards: Sequence[float] = (),
        scored: Sequence[bool] = (),
        control: SessionControl | None = None,
    ) -> None:
        super().__init__(title)
        self.state = LiveState(step=first_step, rewards=list(rewards), scored=list(scored))
        self.control = control if control is not None else SessionControl()

    def resume_from(self, rewards: Iterable[float], scored: Iterable[bool]) -> None:
        """Continue the step count and curve of a resumed session."""
        self.state.rewards = [float(r) for r in rewards]
        self.state.scored = [bool(s) for s in scored]
        self.state.step = len(self.state.rewards)

    # ----- the stage: what a live viewer calls ------------------------------------------------
    def hold(self, step: int) -> None:
        """Return when the session is not paused, handling keys meanwhile.

        Raises:
            SessionEndedByUser: If the session was ended (the keys, or a dashboard).
        """
        self.wait(0.0)

    def present(self, image: np.ndarray, step: int) -> float:
        """Show the emoticon; the monotonic time it was drawn (a webcam's clock)."""
        self.show_emoticon(image)
        self.control.announce_show(step, image)
        return time.monotonic()

    def check(self, step: int) -> None:
        """Handle keys while a step is read; a pause makes the step start again.

        Raises:
            FramesInterrupted: If the session was paused.
            SessionEndedByUser: If the session was ended.
        """
        self._handle_events()  # no redraw: the frames read are drawn as they come
        self.control.check_end(self.state.step)
        if self.state.paused:
            self._redraw()
            raise FramesInterrupted(f"paused from the {self.control.paused_by}")

    def show_emoticon(self, image_rgb: np.ndarray) -> None:
        """Show a new emoticon (RGB uint8) and handle pending keys."""
        self.state.emoticon = image_rgb
        self.poll()

    def show_frame(self, frame_bgr: np.ndarray, box: np.ndarray | None = None) -> None:
        """Show a camera frame in the preview while frames are read."""
        self.state.preview = frame_bgr
        self.state.box = box
        self.poll()

    def show_reaction(self, reaction: Reaction) -> None:
        """Show a step's reading: the last frame and face box, the gauge; count the step.

        The gauge is the mean of the signal over the frames with a face (NaN: none had one),
        named by the signal's label. The reward the env gives the step comes after, with
        `show_reward`.
        """
        state = self.state
        if reaction.frames:
            state.preview = reaction.frames[-1]
        last = reaction.n_frames - 1
        state.box = (
            reaction.boxes[last] if reaction.boxes is not None and reaction.has_face[last] else None
        )
        values = reaction.signal_values()
        read = values[reaction.has_face]
        state.happiness = float(np.mean(read, dtype=np.float64)) if read.size else math.nan
        state.frame_happiness = tuple(float(p) for p in values)
        state.signal_label = signal_label(reaction.signal, "raw_signal" in reaction.extras)
        state.step += 1
        # A q pressed now ends the session before the next emoticon, after this step is saved.
        self._handle_events()
        self._redraw()

    def show_reward(self, reward: float, scored: bool) -> None:
        """Add the env's reward for the step just shown to the curve."""
        self.state.rewards.append(float(reward))
        self.state.scored.append(bool(scored))
        self._redraw()

    def wait(self, seconds: float) -> None:
        """Wait `seconds` (the settle time) handling keys; while paused, wait until unpaused.

        After a pause the full settle time starts again, so the person has it to look.

        Raises:
            SessionEndedByUser: If the person pressed q or Escape, or closed the window (or
                the session's control was ended from elsewhere).
        """
        deadline = time.monotonic() + seconds
        while True:
            self.poll()
            if self.state.paused:
                self.control.wait(FRAME_S)
                deadline = time.monotonic() + seconds
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(FRAME_S, left))

    def poll(self) -> None:
        """Handle pending window events and redraw.

        Raises:
            SessionEndedByUser: If the person pressed q or Escape, or closed the window.
        """
        self._handle_events()
        self._redraw()
        self.control.check_end(self.state.step)

    def _handle_events(self) -> None:
        import pygame

        self._open()
        for event in pygame.event.get():
            action = key_action(event)
            if action == "pause":
                self.control.toggle(self.by)
            elif action == "quit":
                self.control.end(self.by)
        # The control may also have changed from another thread (a dashboard's buttons).
        self.state.paused = self.control.paused
        self.state.ending = self.control.ending

    def _redraw(self) -> None:
        import pygame

        self.draw(self._open())
        pygame.display.flip()

    def draw(self, surface: Surface) -> None:
        """Draw what the window shows on `surface` (of the window's size)."""
        draw_live(surface, self.state)

    def screenshot(self, path: Path | str) -> Path:
        """Save what the window shows as an image file (PNG by its suffix)."""
        import pygame

        screen = self._open()
        self.draw(screen)
        path = Path(path)
        pygame.image.save(screen, str(path))
        return path


def open_window(title: str, size: tuple[int, int] | None = WINDOW_SIZE) -> Surface:
    """Open the pygame window the person sees (one at a time), `size` pixels (None: full screen).

    Raises:
        ConfigError: If there is no screen to open it on.
    """
    import pygame

    try:
        pygame.display.init()
        pygame.display.set_caption(title)
        if size is None:
            return pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        return pygame.display.set_mode(size)
    except pygame.error as error:
        raise ConfigError(
            f"the window cannot be opened ({error}): there is no screen. Run where there is "
            "one, or with SDL_VIDEODRIVER=dummy for a video viewer without a screen (the "
            "window is then drawn off-screen)."
        ) from error


def close_window() -> None:
    """Close the window `open_window` opened."""
    import pygame

    pygame.display.quit()
