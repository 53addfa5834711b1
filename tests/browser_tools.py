"""Helpers of the browser tests: headless Chromium with a fake camera, and stamped y4m videos.

The browser tests need Debian's `chromium` and `chromium-driver` (and `openssl` for the TLS
test). Without them they skip, saying why; CI installs them (`.ci/run`) and sets
`LAETITIA_REQUIRE_BROWSER=1`, which turns such a skip into a failure, so CI never skips them
silently.

Chromium's fake camera plays a y4m file (`--use-file-for-fake-video-capture`), chosen per
browser process: one Chromium per video. `stamp_video` writes a fixture video as y4m with each
frame's number drawn as a row of black and white cells in its top-left corner, far from the
face; `read_stamp` reads the number back from a frame the page sent, so a test knows which
source frames each step read.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRE = "LAETITIA_REQUIRE_BROWSER"
"""Set to 1 (CI does): a browser test that cannot run fails instead of skipping."""
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container: the sandbox needs user namespaces it has not got
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
    "--disable-background-networking",  # no update checks or safe-browsing lists: no network
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--use-fake-ui-for-media-stream",  # the camera is allowed without a prompt
    "--use-fake-device-for-media-stream",
    # A page in the background would have its timers, animation frames and video frames held.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--window-size=1024,768",
)
BITS = 12
CELLS = BITS + 2  # a start cell (white), 12 bits, a parity cell
CELL_FRACTION = 1 / 40  # a cell's side as a fraction of the frame's width


def needs(*programs):
    """Skip (or fail, under LAETITIA_REQUIRE_BROWSER=1) unless the programs are installed."""
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return
    reason = (
        f"needs {' and '.join(missing)} (Debian: apt-get install chromium chromium-driver "
        "openssl; .ci/run installs them)"
    )
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 and {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def chromium(y4m=None):
    """Headless Chromium through selenium and Debian's chromedriver; `y4m` feeds its camera."""
    needs(CHROMIUM, CHROMEDRIVER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="laetitia-chromium-"))
    options = webdriver.ChromeOptions()
    # Both paths given: selenium would otherwise look for a driver on the network.
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    if y4m is not None:
        options.add_argument(f"--use-file-for-fake-video-capture={y4m}")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def stamp(frame, number):
    """A copy of a BGR frame with `number` drawn as cells in its top-left corner."""
    out = frame.copy()
    c = max(4, round(frame.shape[1] * CELL_FRACTION))
    bits = [(number >> (BITS - 1 - i)) & 1 for i in range(BITS)]
    cells = [1, *bits, sum(bits) % 2]
    cv2.rectangle(out, (0, 0), (c * (CELLS + 1), c * 2), (128, 128, 128), -1)  # a quiet zone
    for i, bit in enumerate(cells):
        out[c // 2 : c // 2 + c, c // 2 + i * c : c // 2 + (i + 1) * c] = 255 if bit else 0
    return out


def read_stamp(frame):
    """The number `stamp` drew into a (recompressed) BGR frame; None if it does not read."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    c = gray.shape[1] * CELL_FRACTION
    r = max(1, int(c / 4))
    cells = []
    for i in range(CELLS):
        x, y = int(c / 2 + (i + 0.5) * c), int(c)
        cells.append(1 if gray[y - r : y + r, x - r : x + r].mean() > 128 else 0)
    if cells[0] != 1 or sum(cells[1:-1]) % 2 != cells[-1]:
        return None
    return int("".join(map(str, cells[1:-1])), 2)


def stamp_video(source, y4m, fps):
    """Write `source` as a y4m (4:2:0, BT.601, as Chromium reads it) at `fps` frames a second,
    each frame stamped with its number; returns the stamped BGR frames.

    The rate is a whole number: Chromium plays a y4m's rate truncated to one.
    """
    from laetitia.cameras import VideoFile

    with VideoFile(source) as video:
        frames = [stamp(frame, i) for i, frame in enumerate(video)]
    height, width = frames[0].shape[:2]
    with open(y4m, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return frames


def self_signed(folder, address):
    """A certificate and key (PEM) for `address` and the loopback, made with openssl."""
    needs("openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", f"/CN={address}", "-addext", f"subjectAltName=IP:{address},IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def this_machines_address():
    """An address of this machine that is not the loopback (None when it has none)."""
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # nothing is sent: the route picks the interface
        address = probe.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None
