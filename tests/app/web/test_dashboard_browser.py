"""The experimenter's dashboard in a real browser, during a simulated session.

`laetitia train --dashboard 127.0.0.1:0` serves the dashboard while a simulated person (slowed
to a human pace) is trained; headless Chromium opens it, reads that the step counter, the gauge
and the reward curve advance, and presses its buttons: pause holds the session, resume lets it
go on, end stops it with every completed step saved.
"""

import queue
import threading
import time

import pytest
from browser_tools import CHROMEDRIVER, CHROMIUM, chromium, needs

from laetitia.app.training import TrainConfig, train
from laetitia.app.web.session import WebOptions
from laetitia.sessions import load_session
from laetitia.sessions.layout import STEPS_FILE
from laetitia.viewers.simulated import SimulatedViewer

PACE_S = 0.15
"""How long each simulated reaction takes here (a live step takes seconds)."""
TIMEOUT_S = 60


def recorded(folder):
    path = folder / STEPS_FILE
    return len(path.read_text().splitlines()) - 1 if path.is_file() else 0


def until(condition, what, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout_s} s")
        time.sleep(0.05)


@pytest.mark.expensive
def test_the_dashboard_shows_the_session_live_and_its_buttons_pause_resume_and_end_it(
    tmp_path, monkeypatch
):
    needs(CHROMIUM, CHROMEDRIVER)
    react = SimulatedViewer.react

    def at_a_human_pace(self, image, params):
        time.sleep(PACE_S)
        return react(self, image, params)

    monkeypatch.setattr(SimulatedViewer, "react", at_a_human_pace)
    config = TrainConfig(out=tmp_path / "session", agent="cma-es", viewer="sim:1", steps=100_000)
    said, ran = queue.Queue(), {}

    def run():
        try:
            web = WebOptions(dashboard="127.0.0.1:0")
            ran["result"] = train(config, progress=False, web=web, log=said.put)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            ran["error"] = error

    session = threading.Thread(target=run, daemon=True)
    session.start()
    url = said.get(timeout=TIMEOUT_S)
    assert url.startswith("dashboard: http://127.0.0.1:")
    with chromium() as driver:
        driver.get(url.removeprefix("dashboard: "))
        text = lambda name: driver.find_element("id", name).text  # noqa: E731
        step = lambda: int(text("step")) if text("step").isdigit() else -1  # noqa: E731

        def points():
            return driver.execute_script(
                "return [...document.querySelectorAll('#curve polyline')]"
                ".map(p => p.getAttribute('points').split(' ').length).reduce((a, b) => a + b, 0)"
            )

        gauge = lambda: driver.execute_script(  # noqa: E731
            "return document.querySelector('#gauge div').style.width"
        )
        until(lambda: step() >= 3, "the step counter counts")
        seen = (step(), points(), text("signal"))
        until(lambda: step() >= seen[0] + 3, "the step counter advances")
        assert points() > seen[1]  # the curve grows with the steps
        assert gauge().endswith("%") and text("signal") != "-"  # the gauge reads each step
        until(lambda: driver.find_element("id", "emoticon").get_attribute("src"), "an emoticon")
        assert text("state") == "running"

        driver.find_element("id", "pause").click()
        until(lambda: text("state") == "paused by the dashboard", "the pause is shown")
        held = recorded(config.out)
        time.sleep(6 * PACE_S)
        assert recorded(config.out) <= held + 1  # at most the step under way completes
        paused_at = step()
        assert recorded(config.out) == paused_at + 1

        driver.find_element("id", "resume").click()
        until(lambda: step() >= paused_at + 3, "the session goes on after resume")
        assert text("state") == "running"

        driver.find_element("id", "end").click()
        session.join(TIMEOUT_S)
        assert not session.is_alive(), "the end button did not end the session"
        until(lambda: text("state") == "ended", "the end is shown")
    if "error" in ran:
        raise ran["error"]
    result = ran["result"]
    assert "ended from the dashboard" in result.stopped_early
    assert load_session(config.out).n_steps == result.session.n_steps >= paused_at + 3
