"""The experimenter's dashboard (`--dashboard [HOST:]PORT`): the live session, and its buttons.

    feed = DashboardFeed(control)                         # laetitia.app.web.feed
    with serve_dashboard(feed, control, "127.0.0.1:8771") as server:
        print(server.url)

The page (`static/dashboard.html`, `dashboard.js`, `dashboard.css`) shows the step, the
emoticon on show, the camera preview with the face box (or blurred, or none), the signal of
each frame of the last step with the frames without a face flagged, the reward curve, the
agent's best guess so far, and why the session waits if it does. Its buttons pause, resume and
end the session through the session's `SessionControl`: exactly what the live window's keys and
the participant's space do.

Routes:
    GET /              the dashboard
    GET /static/NAME   its script and style
    WS  /ws            the feed's events down (JSON), the buttons up ({"type": "control",
                       "action": "pause" | "resume" | "end"})
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from laetitia.app.web.feed import DashboardFeed
from laetitia.app.web.pages import Outbox, admitted, page, static_routes
from laetitia.app.web.protocol import DASHBOARD_MESSAGES, Control, read_message
from laetitia.app.web.server import Access, WebServer
from laetitia.errors import ProtocolError
from laetitia.viewers.control import SessionControl
from laetitia.viewers.spec import parse_address

UNSUPPORTED_DATA = 1003
QUEUED_EVENTS = 500
"""Events kept waiting for a slow dashboard before new ones are dropped."""
BY = "dashboard"
"""Who the dashboard's buttons pause or end the session as."""


def dashboard_app(feed: DashboardFeed, control: SessionControl, access: Access) -> Starlette:
    """The dashboard's page and socket, for one session."""

    async def socket(websocket: WebSocket) -> None:
        if not await admitted(websocket, access):
            return
        await websocket.accept()
        outbox = Outbox(asyncio.get_running_loop(), size=QUEUED_EVENTS)
        feed.watch(outbox.deliver)
        sender = asyncio.create_task(outbox.send_all(websocket))
        try:
            while True:
                message = read_message(await websocket.receive_text(), DASHBOARD_MESSAGES)
                assert isinstance(message, Control)
                if message.action == "pause":
                    control.pause(BY)
                elif message.action == "resume":
                    control.resume(BY)
                else:
                    control.end(BY)
        except ProtocolError:
            await websocket.close(code=UNSUPPORTED_DATA)
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            feed.unwatch(outbox.deliver)

    return Starlette(
        routes=[
            Route("/", page("dashboard.html", access)),
            *static_routes(("dashboard.js", "dashboard.css"), access),
            WebSocketRoute("/ws", socket),
        ]
    )


def serve_dashboard(
    feed: DashboardFeed,
    control: SessionControl,
    address: str,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    token: str | None = None,
) -> WebServer:
    """The dashboard's server, bound (start it with `start` or `with`).

    Args:
        feed: What the dashboard is told.
        control: What its buttons act on.
        address: `[HOST:]PORT` (127.0.0.1 when no host is given).
        tls_cert: A certificate for HTTPS (needed off this machine).
        tls_key: Its key.
        token: The token off the loopback; None makes one.

    Raises:
        ConfigError: For an address that is not [HOST:]PORT (`field` "dashboard").
        WebServerError: For an address in use, or plain HTTP off the loopback.
    """
    from laetitia.errors import ConfigError

    try:
        host, port = parse_address(address)
    except ConfigError as error:
        raise ConfigError(f"dashboard: {error}", field="dashboard") from None
    access = Access.for_bind(host, tls_cert is not None, "dashboard", token)
    app = dashboard_app(feed, control, access)
    return WebServer(app, host, port, access, "dashboard", tls_cert, tls_key)
