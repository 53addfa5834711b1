"""One control for a live session's pause and end, shared by the window, a page, a dashboard."""

import threading
import time

import numpy as np
import pytest

from laetitia.errors import SessionEndedByUser
from laetitia.viewers.control import SessionControl


def test_pause_holds_until_resumed_and_every_change_is_told():
    control = SessionControl()
    told = []
    control.listen(lambda event: told.append((event.kind, event.paused, event.ending, event.by)))
    control.pause("dashboard")
    control.pause("participant's page")  # already paused: nothing changes
    assert control.paused and control.paused_by == "dashboard" and control.pauses == 1
    threading.Timer(0.2, control.resume, args=("participant's page",)).start()
    began = time.monotonic()
    control.hold(step=4)
    assert time.monotonic() - began >= 0.15 and not control.paused
    assert told == [
        ("state", True, False, "dashboard"),
        ("state", False, False, "participant's page"),
    ]


def test_a_hold_runs_its_tick_while_paused_so_a_window_keeps_its_keys():
    control = SessionControl()
    control.pause("live window")
    ticks = []

    def tick():
        ticks.append(1)
        if len(ticks) == 3:
            control.toggle("live window")  # space again, seen by the window's own tick

    control.hold(step=0, tick=tick)
    assert len(ticks) == 3 and not control.paused


def test_end_lifts_a_pause_and_every_hold_after_it_raises_naming_who_and_when():
    control = SessionControl()
    control.pause("dashboard")
    threading.Timer(0.1, control.end, args=("dashboard",)).start()
    with pytest.raises(SessionEndedByUser, match="ended from the dashboard at step 12"):
        control.hold(step=12)
    assert control.ending and not control.paused
    with pytest.raises(SessionEndedByUser):
        control.check_end(13)


def test_announcements_reach_the_listeners_and_a_listener_can_go():
    control = SessionControl()
    shows = []

    def listener(event):
        shows.append((event.kind, event.step, event.text))

    control.listen(listener)
    control.announce_show(3, np.zeros((4, 4, 3), np.uint8))
    control.announce_status("waiting for the participant's page")
    control.unlisten(listener)
    control.announce_status("")
    assert shows == [("show", 3, ""), ("status", 0, "waiting for the participant's page")]
