"""uvicorn serving a Starlette app from a thread, and who may use it.

    access = Access.for_bind("127.0.0.1", tls=False, field="dashboard")
    with WebServer(app, "127.0.0.1", 8771, access) as server:
        print(server.url)                    # the training loop runs here, in the main thread

The socket is bound in the caller's thread before the server's thread starts: port 0 gets a
free port with no race, and a port in use fails at once as a `WebServerError`. uvicorn installs
no signal handlers outside the main thread, so Ctrl-C stays the main thread's
`KeyboardInterrupt`. The graceful shutdown is bounded: uvicorn otherwise waits forever for an
open streaming response.

Who may connect (`Access`):
- On the loopback (127.0.0.0/8, ::1, localhost) nothing is asked, but the Host header must be a
  loopback name (a DNS name rebound to 127.0.0.1 is refused) and a WebSocket's Origin must be
  this server: WebSockets are not bound by CORS, so any web page the participant has open could
  otherwise connect to ws://127.0.0.1:PORT and press "end".
- Anywhere else the server needs HTTPS (browsers give a page the camera only in a secure
  context: https, or http on this machine), so plain HTTP is refused before anything is served;
  and it needs a token, made for each run, given in the URL once and kept in a cookie after
  (HttpOnly, SameSite=Strict, Secure). A request without it gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from laetitia.errors import WebServerError

COOKIE = "laetitia_token"
"""The cookie a token is kept in after the first visit."""
GRACEFUL_S = 1
"""Seconds uvicorn waits for open connections when it stops."""
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""The largest WebSocket message accepted (a frame from the page is well under 1 MB)."""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """Who may use a server: its bind address, whether it speaks TLS, and its token."""

    host: str
    """The address it is bound to."""
    tls: bool
    """Whether it serves HTTPS."""
    token: str | None
    """What a request must carry (query `token`, or the cookie); None on the loopback."""

    @classmethod
    def for_bind(cls, host: str, tls: bool, field: str, token: str | None = None) -> Access:
        """The access rules for serving on `host`.

        Args:
            host: The address to bind.
            tls: Whether a certificate and key are given.
            field: The setting that chose the address (named in errors).
            token: A token to use off the loopback; None makes a new one.

        Raises:
            WebServerError: For plain HTTP off the loopback.
        """
        if is_loopback(host):
            return cls(host, tls, None)
        if not tls:
            raise WebServerError(
                f"{field}: serving on {host}, off this machine, needs HTTPS: browsers give a "
                "page the camera only in a secure context (https, or http on this machine), and "
                "the token must not travel in clear. Give a certificate and its key "
                "(`tls_cert`, `tls_key`), or serve on 127.0.0.1.",
                field=field,
                mentions=("tls_cert", "tls_key"),
            )
        return cls(host, tls, token or secrets.token_urlsafe(24))

    def host_ok(self, host_header: str) -> bool:
        """Whether a request's Host header may reach this server.

        On the loopback it must be a loopback name (DNS rebinding); elsewhere the token decides.
        """
        if self.token is not None:
            return True
        name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return is_loopback(name.strip("[]"))

    def token_ok(self, query: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
        """Whether a request carries the token (always, on the loopback)."""
        if self.token is None:
            return True
        given = query.get("token") or cookies.get(COOKIE) or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    @staticmethod
    def origin_ok(origin: str | None, host_header: str) -> bool:
        """Whether a WebSocket's Origin is this very server (a browser always sends one)."""
        return origin is None or origin.split("://", 1)[-1] == host_header


class WebServer:
    """uvicorn serving an ASGI app from a daemon thread; bound at once, started by `start`.

    Args:
        app: The ASGI app.
        host: The address to bind (a name or an IP address).
        port: The port (0: any free one, read back as `port`).
        access: Who may connect (its token goes into `url`).
        field: The setting that chose the address (named in errors).
        tls_cert: A certificate file (PEM) for HTTPS; None for plain HTTP.
        tls_key: Its private key (PEM).

    Raises:
        WebServerError: If the address cannot be bound (in use, not this machine's).
    """

    def __init__(
        self,
        app: object,
        host: str,
        port: int,
        access: Access,
        field: str,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
    ) -> None:
        import uvicorn

        self.access = access
        self.field = field
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise WebServerError(
                f"{field}: cannot serve on {host}:{port} ({error.strerror or error}): the port "
                "is in use (another laetitia?) or the address is not this machine's. Choose "
                "another port, or 0 for any free one.",
                field=field,
            ) from error
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self.tls = tls_cert is not None
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            log_level="warning",
            ssl_certfile=None if tls_cert is None else str(tls_cert),
            ssl_keyfile=None if tls_key is None else str(tls_key),
            timeout_graceful_shutdown=GRACEFUL_S,
            ws_max_size=MAX_MESSAGE_BYTES,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"laetitia-{field}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The page's address, with the token when one is needed."""
        scheme = "https" if self.tls else "http"
        host = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        token = "" if self.access.token is None else f"?token={self.access.token}"
        return f"{scheme}://{host}:{self.port}/{token}"

    def start(self, timeout_s: float = 10.0) -> Self:
        """Serve, returning once the server accepts connections.

        Raises:
            WebServerError: If it does not start (a certificate that does not load, ...).
        """
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self._socket.close()
                raise WebServerError(
                    f"{self.field}: the web server did not start: {self._error}. Check the "
                    "certificate and key (`tls_cert`, `tls_key`) if one was given.",
                    field=self.field,
                    mentions=("tls_cert", "tls_key"),
                )
            if time.monotonic() > deadline:
                raise WebServerError(
                    f"{self.field}: the web server did not start within {timeout_s:g} s.",
                    field=self.field,
                )
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving (open WebSockets are closed) and wait for the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._socket.close()

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # reported by start(), in the caller's thread
            self._error = error

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
