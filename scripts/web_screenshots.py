"""Screenshots of the participant's page and the dashboard during a session (docs/*.png).

Runs `laetitia train --viewer browser --dashboard ... --preview blur` with headless Chromium as
the participant (its fake camera playing a test video) and, in a second window, as the
experimenter; saves both pages as they look a few steps in. It uses the browser tests' helpers
(`tests/browser_tools.py`: Debian's chromium and chromium-driver).

The dashboard's camera preview is the one laetitia blurs (`--preview blur`): the test videos are
third-party recordings of a real person, which the repository must not copy.

    .venv/bin/python scripts/web_screenshots.py [--video ../shared/fixtures/single_face.mp4] \
        [--participant docs/participant_page.png] [--dashboard docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

STEPS = 12


def main() -> None:
    import cv2
    from browser_tools import chromium, stamp_video

    from laetitia.app.training import TrainConfig, train
    from laetitia.app.web.session import WebOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=Path("../shared/fixtures/single_face.mp4"))
    parser.add_argument("--participant", type=Path, default=Path("docs/participant_page.png"))
    parser.add_argument("--dashboard", type=Path, default=Path("docs/dashboard.png"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="laetitia-screens-"))
    stamp_video(args.video, work / "camera.y4m", fps=4)
    config = TrainConfig(
        out=work / "session",
        agent="hill-climb",
        viewer="browser:127.0.0.1:0",
        steps=STEPS,
        frames=5,
        settle_s=0.2,
    )
    said: queue.Queue[str] = queue.Queue()
    web = WebOptions(dashboard="127.0.0.1:0", preview="blur")
    session = threading.Thread(
        target=lambda: train(config, progress=False, web=web, log=said.put), daemon=True
    )
    urls = {}
    with chromium(work / "camera.y4m") as driver:
        session.start()
        for _ in range(2):
            name, _, url = said.get(timeout=60).partition(": ")
            urls[name] = url
        driver.set_window_size(1100, 980)
        driver.get(urls["participant"])
        participant = driver.current_window_handle
        # The dashboard in a window of its own: a tab in front would hide the participant's
        # page, which then neither draws nor streams.
        driver.switch_to.new_window("window")
        driver.set_window_size(1100, 980)
        driver.get(urls["dashboard"])
        while (
            not driver.find_element("id", "step").text.isdigit()
            or int(driver.find_element("id", "step").text) < STEPS - 5
        ):
            time.sleep(0.2)
        driver.save_screenshot(str(args.dashboard))
        driver.switch_to.window(participant)
        driver.save_screenshot(str(args.participant))
        session.join(120)
    for path in (args.participant, args.dashboard):
        # The highest PNG compression: the same pixels, a smaller file.
        cv2.imwrite(str(path), cv2.imread(str(path)), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
