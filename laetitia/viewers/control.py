"""Pause, resume and end of a live session, and what it announces, from any thread.

    control = SessionControl()
    control.pause("dashboard")          # from any thread: the window's keys, a page, a dashboard
    control.hold(step)                  # the training thread: waits while paused, raises on end
    control.listen(callback)            # every change and announcement, as a SessionEvent

The live window's keys, a participant's page (space) and the experimenter's dashboard (its
buttons) act through one control, so each acts exactly as the others do:
- a pause holds the session before its next emoticon; a step whose reading was under way starts
  again after it (the emoticon shown anew, the full settle time given again);
- end stops the session before its next emoticon (a reading under way is dropped); every
  completed step is saved, and `laetitia train` says where it ended.

A session without a person to pause it (a simulated viewer) is held between steps by
whoever runs it (the dashboard's callback, `laetitia.app.web.dashboard`).

A running session also announces through the control what a dashboard shows as it happens: the
emoticon put on show (`announce_show`) and why it waits, if it does (`announce_status`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from laetitia.errors import SessionEndedByUser

TICK_S = 1 / 30
"""How often a wait wakes to run its tick (a window's events) and look again."""


@dataclass(frozen=True, eq=False)
class SessionEvent:
    """A change of a session's control, or something it announces."""

    kind: str
    """"state" (paused, resumed or ending), "show" (an emoticon put on show), or "status" (why
    the session waits; empty text when it runs again)."""
    paused: bool
    """Whether the session is paused now."""
    ending: bool
    """Whether the session was asked to end."""
    by: str = ""
    """Who paused, resumed or ended it ("live window", "participant", "dashboard")."""
    step: int = 0
    """The step an emoticon was shown for (kind "show")."""
    image: np.ndarray | None = None
    """The emoticon put on show, RGB uint8 (kind "show")."""
    text: str = ""
    """Why the session waits (kind "status")."""


Listener = Callable[[SessionEvent], None]


class SessionControl:
    """The pause and end of one live session, shared by everything that can steer it.

    Thread-safe: any thread may pause, resume, end or listen; the training thread holds.
    Listeners are called in the thread that made the change, outside the control's lock.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused_by: str | None = None
        self._ended_by: str | None = None
        self._listeners: list[Listener] = []
        self.pauses = 0
        """Pauses so far: a step that began before the latest one starts again."""

    def __deepcopy__(self, memo: dict[int, object]) -> SessionControl:
        """The control itself: a copy would steer nothing.

        Gymnasium copies an env's spec, whose kwargs hold it.
        """
        return self

    @property
    def paused(self) -> bool:
        """Whether the session is paused."""
        return self._paused_by is not None

    @property
    def paused_by(self) -> str:
        """Who paused it; empty when it is not paused."""
        return self._paused_by or ""

    @property
    def ending(self) -> bool:
        """Whether the session was asked to end."""
        return self._ended_by is not None

    def pause(self, by: str) -> None:
        """Pause before the next emoticon (a reading under way starts again after it)."""
        with self._cond:
            if self._paused_by is not None or self._ended_by is not None:
                return
            self._paused_by = by
            self.pauses += 1
            self._cond.notify_all()
        self._tell(SessionEvent("state", paused=True, ending=False, by=by))

    def resume(self, by: str) -> None:
        """Go on after a pause."""
        with self._cond:
            if self._paused_by is None:
                return
            self._paused_by = None
            self._cond.notify_all()
            ending = self._ended_by is not None
        self._tell(SessionEvent("state", paused=False, ending=ending, by=by))

    def toggle(self, by: str) -> None:
        """Pause, or go on if paused (the space key)."""
        if self.paused:
            self.resume(by)
        else:
            self.pause(by)

    def end(self, by: str) -> None:
        """End the session before its next emoticon; a pause is lifted so the end is seen."""
        with self._cond:
            if self._ended_by is not None:
                return
            self._ended_by = by
            self._paused_by = None
            self._cond.notify_all()
        self._tell(SessionEvent("state", paused=False, ending=True, by=by))

    def hold(self, step: int, tick: Callable[[], None] | None = None) -> None:
        """Return once the session is not paused (at once when it is not).

        Args:
            step: The step about to begin (named if the session ends).
            tick: Called about every `TICK_S` while paused (a window handles its keys).

        Raises:
            SessionEndedByUser: If the session was asked to end.
        """
        while True:
            self.check_end(step)
            if not self.paused:
                return
            if tick is not None:
                tick()
            self.wait(TICK_S)

    def check_end(self, step: int) -> None:
        """Raise if the session was asked to end.

        Raises:
            SessionEndedByUser: Naming who ended it and at which step.
        """
        by = self._ended_by
        if by is not None:
            raise SessionEndedByUser(
                f"the session was ended from the {by} at step {step}; every completed step "
                "is saved, and the session can be resumed."
            )

    def wait(self, timeout_s: float) -> None:
        """Sleep up to `timeout_s`, waking early on any change."""
        with self._cond:
            self._cond.wait(timeout_s)

    def announce_show(self, step: int, image: np.ndarray) -> None:
        """Tell the listeners which emoticon is on show now (RGB uint8)."""
        self._tell(
            SessionEvent("show", paused=self.paused, ending=self.ending, step=step, image=image)
        )

    def announce_status(self, text: str) -> None:
        """Tell the listeners why the session waits; empty when it runs again."""
        self._tell(SessionEvent("status", paused=self.paused, ending=self.ending, text=text))

    def listen(self, listener: Listener) -> None:
        """Call `listener` with every change and announcement from now on."""
        with self._cond:
            self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _tell(self, event: SessionEvent) -> None:
        with self._cond:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
