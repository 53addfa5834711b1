"""What the participant's and the dashboard's apps share: their pages, access, and outboxes.

    app = Starlette(routes=[Route("/", page("participant.html", access)), *static_routes(access)])
    if await admitted(websocket, access): ...
    outbox = Outbox(asyncio.get_running_loop()); outbox.deliver(message)   # from any thread

The pages are files in `static/` (package data), sent with `Cache-Control: no-store` so a page
reloaded after an upgrade is the new one. A request is refused (421 for a Host that is not this
machine's loopback, 403 without the token) by the rules of `laetitia.app.web.server.Access`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from laetitia.app.web.server import COOKIE, Access

STATIC = Path(__file__).parent / "static"
"""The pages and their scripts."""
REFUSED_TOKEN = "this laetitia server needs its token: open the URL it printed"


def refusal(request: Request | WebSocket, access: Access) -> Response | None:
    """Why `access` refuses a request (a response to send), or None when it is admitted."""
    if not access.host_ok(request.headers.get("host", "")):
        return PlainTextResponse("unknown host: open this server on 127.0.0.1", status_code=421)
    if not access.token_ok(request.query_params, request.cookies):
        return PlainTextResponse(REFUSED_TOKEN, status_code=403)
    return None


def page(name: str, access: Access) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint sending the file `static/NAME`; a token in the query is kept in a cookie."""

    async def endpoint(request: Request) -> Response:
        refused = refusal(request, access)
        if refused is not None:
            return refused
        response: Response = FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})
        if access.token is not None and "token" in request.query_params:
            response.set_cookie(
                COOKIE, access.token, httponly=True, samesite="strict", secure=access.tls
            )
        return response

    return endpoint


def static_routes(names: tuple[str, ...], access: Access) -> list[Route]:
    """Routes `/static/NAME` for each file a page loads."""
    return [Route(f"/static/{name}", page(name, access)) for name in names]


async def admitted(websocket: WebSocket, access: Access) -> bool:
    """Whether a WebSocket may connect.

    A refused one is closed before its handshake ends: the browser sees HTTP 403.
    """
    host = websocket.headers.get("host", "")
    if refusal(websocket, access) is None and access.origin_ok(
        websocket.headers.get("origin"), host
    ):
        return True
    await websocket.close(code=1008)
    return False


class Outbox:
    """Messages for one WebSocket, queued from any thread and sent by its event loop.

    Args:
        loop: The event loop the socket lives on.
        size: Messages kept waiting; when full, new ones are dropped (a slow dashboard misses
            events rather than holding the session). 0 keeps them all.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int = 0) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)

    def deliver(self, message: dict[str, Any]) -> None:
        """Queue `message` (plain data, sent as JSON); safe from any thread."""

        def put() -> None:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(message)

        with contextlib.suppress(RuntimeError):  # the loop has closed: the server stopped
            self.loop.call_soon_threadsafe(put)

    async def send_all(self, websocket: WebSocket) -> None:
        """Send the queued messages as they come, until cancelled."""
        while True:
            await websocket.send_json(await self.queue.get())
