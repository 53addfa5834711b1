"""A participant in the browser: the page, its socket, and the viewer it gives (`--viewer browser`).

    with serve_participant("127.0.0.1:8770") as page:
        print(page.url)                                   # the participant opens it
        env = gymnasium.make("laetitia/Smile-v0", viewer=page.viewer(frames=10, settle_s=0.5))
        ...                                               # the session runs here

The page (`static/participant.html`, `participant.js`) shows the emoticon alone on a plain
background, asks for the camera, and streams its frames with their capture times. The server
hands them to a `laetitia.cameras.BrowserCamera`; the page is the viewer's stage
(`laetitia.viewers.browser.BrowserStage`), so the session is the same as a webcam's (the same
meter, the same recorded session) with the page's clock as the camera's.

Routes:
    GET /                  the participant's page
    GET /static/NAME       its script
    WS  /ws                frames up (binary), the page's events up (JSON); the emoticon, clock
                           pings, pauses and the end down (JSON)

The server pings the page 10 times 50 ms apart when it connects, then every second; the page's
answers map its clock onto the session's (`laetitia.cameras.ClockSync`), to record when each
frame was taken. Off the loopback it needs HTTPS and a token (`laetitia.app.web.server`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from laetitia.app.web.pages import Outbox, admitted, page, static_routes
from laetitia.app.web.protocol import (
    PAGE_MESSAGES,
    CameraState,
    Drawn,
    PauseKey,
    Pong,
    Visibility,
    read_frame,
    read_message,
)
from laetitia.app.web.server import Access, WebServer
from laetitia.cameras import BrowserCamera
from laetitia.errors import ProtocolError
from laetitia.meter import Meter
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY
from laetitia.viewers.browser import BrowserStage
from laetitia.viewers.control import SessionControl
from laetitia.viewers.live import LiveViewer
from laetitia.viewers.spec import BROWSER_PORT, parse_address
from laetitia.viewers.stage import Screen

PINGS_AT_START = 10
PING_AT_START_S = 0.05
PING_EVERY_S = 1.0
UNSUPPORTED_DATA = 1003
"""The WebSocket close code for a message that is not one of the protocol's."""


def participant_app(stage: BrowserStage, access: Access) -> Starlette:
    """The participant's page and socket, for one stage."""

    async def socket(websocket: WebSocket) -> None:
        if not await admitted(websocket, access):
            return
        await websocket.accept()
        outbox = Outbox(asyncio.get_running_loop())
        generation = stage.connect(outbox.deliver)

        async def ping() -> None:
            for i in itertools.count():
                outbox.deliver({"type": "ping", "t0": time.monotonic()})
                await asyncio.sleep(PING_AT_START_S if i < PINGS_AT_START else PING_EVERY_S)

        tasks = [asyncio.create_task(ping()), asyncio.create_task(outbox.send_all(websocket))]
        try:
            await _receive(websocket, stage, generation)
        except ProtocolError:
            await websocket.close(code=UNSUPPORTED_DATA)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()
            stage.disconnect(generation)

    return Starlette(
        routes=[
            Route("/", page("participant.html", access)),
            *static_routes(("participant.js",), access),
            WebSocketRoute("/ws", socket),
        ]
    )


async def _receive(websocket: WebSocket, stage: BrowserStage, generation: int) -> None:
    """Hand the page's frames and messages to the stage until the page disconnects.

    Raises:
        ProtocolError: For a message that is not one the page sends.
    """
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            header, image = read_frame(message["bytes"])
            stage.frame(generation, header.seq, header.t, image, header.t_kind)
        elif message.get("text") is not None:
            _dispatch(stage, generation, read_message(message["text"], PAGE_MESSAGES))


def _dispatch(stage: BrowserStage, generation: int, message: object) -> None:
    """Hand one of the page's messages to the stage."""
    if isinstance(message, Pong):
        stage.on_pong(generation, message.t0, message.t_page)
    elif isinstance(message, Drawn):
        stage.on_drawn(generation, message.show_id, message.t_page)
    elif isinstance(message, CameraState):
        stage.on_camera(generation, message.ok, message.settings, message.user_agent)
    elif isinstance(message, Visibility):
        stage.on_visibility(generation, message.hidden)
    elif isinstance(message, PauseKey):
        stage.on_pause(generation, message.paused)


class ParticipantServer:
    """The participant's page served for one session, and the camera and stage behind it.

    Args:
        address: Where to serve: `[HOST:]PORT` (this machine and `BROWSER_PORT` by default).
        control: The session's pause and end (shared with a dashboard); None for its own.
        screen: The participant's screen: the blank between emoticons and the instructions.
        tls_cert: A certificate for HTTPS (needed off this machine).
        tls_key: Its key.
        token: The token off the loopback; None makes one.
        field: The setting that chose the address (named in errors).

    Raises:
        WebServerError: For an address in use, or plain HTTP off the loopback.
    """

    def __init__(
        self,
        address: str = "",
        control: SessionControl | None = None,
        screen: Screen | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        token: str | None = None,
        field: str = "viewer",
    ) -> None:
        host, port = parse_address(address, BROWSER_PORT)
        self.control = control if control is not None else SessionControl()
        self.camera = BrowserCamera()
        self.stage = BrowserStage(self.camera, self.control, screen)
        access = Access.for_bind(host, tls_cert is not None, field, token)
        app = participant_app(self.stage, access)
        self.server = WebServer(app, host, port, access, field, tls_cert, tls_key)

    @property
    def url(self) -> str:
        """The page's address (with its token off the loopback)."""
        return self.server.url

    def viewer(
        self,
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        meter: Meter | Callable[[], Meter] | None = None,
        signal: str = FER_HAPPY,
    ) -> LiveViewer:
        """The live viewer whose camera is the page's and whose stage is the page.

        Args:
            frames: Frames read per shown emoticon.
            settle_s: Seconds the emoticon is on the participant's screen before frames count.
            meter: The happiness meter, or a function that builds one; None for the default.
            signal: The smile signal `meter` scores frames by (`laetitia.signals`).
        """
        return LiveViewer(
            self.camera,
            meter,
            frames=frames,
            settle_s=settle_s,
            show=True,
            realtime=True,
            source={"kind": "browser", "url": self.url.split("?")[0]},
            nondeterministic=True,
            stage=self.stage,
            signal=signal,
        )

    def start(self) -> Self:
        """Serve the page."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Tell the page the session ended, and stop serving."""
        self.stage.close()
        time.sleep(0.1)  # the end message leaves before the socket closes
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_participant(
    address: str = "",
    control: SessionControl | None = None,
    screen: Screen | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> ParticipantServer:
    """A participant's page to serve, to enter with `with`; see the module.

    Raises:
        WebServerError: For an address in use, or plain HTTP off the loopback.
    """
    return ParticipantServer(address, control, screen, tls_cert, tls_key)
