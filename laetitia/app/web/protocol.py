"""The messages the pages send, read strictly: one frozen dataclass per kind.

Text messages are JSON objects with a `type`; `read_message` returns the dataclass of that type
(`laetitia.records.from_dict`: an unknown key, a missing one or a wrong type is refused), and a
message that is not one of these is a `ProtocolError`, on which the server closes the socket
(1003, "unsupported data"). The participant's page sends its frames as binary messages:

    u32 little-endian n | n bytes of JSON: FrameHeader | the image as the page encoded it (JPEG)

What the server sends the pages is written where it is sent (`laetitia.viewers.browser` for the
participant's page, `laetitia.app.web.feed` for the dashboard).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from laetitia.errors import ProtocolError
from laetitia.records import from_dict


@dataclass(frozen=True)
class Pong:
    """The page's answer to a clock ping."""

    t0: float
    """The server's time in the ping, echoed (monotonic seconds)."""
    t_page: float
    """The page's clock when it answered (`performance.now()`, ms)."""


@dataclass(frozen=True)
class CameraState:
    """The page's camera opened, or was refused, ended or muted."""

    ok: bool
    why: str = ""
    """The browser's reason when not ok (NotAllowedError, ended, muted, ...)."""
    settings: dict[str, Any] | None = None
    """The track's `getSettings()`: width, height, frameRate, ..."""
    user_agent: str = ""


@dataclass(frozen=True)
class Drawn:
    """The page drew an emoticon."""

    show_id: int
    t_page: float
    """When it was on screen: the page's clock (ms) at the animation frame after the one
    that drew it."""


@dataclass(frozen=True)
class Visibility:
    """The page was hidden or shown (`visibilitychange`)."""

    hidden: bool


@dataclass(frozen=True)
class PauseKey:
    """The participant pressed space: `paused` True to pause, False to go on."""

    paused: bool


@dataclass(frozen=True)
class Control:
    """A dashboard's button."""

    action: str
    """"pause", "resume" or "end"."""

    def __post_init__(self) -> None:
        if self.action not in CONTROL_ACTIONS:
            raise ProtocolError(f"control action {self.action!r} is not one of {CONTROL_ACTIONS}.")


@dataclass(frozen=True)
class FrameHeader:
    """What the page says of a frame it sends."""

    seq: int
    """The page's count of frames sent."""
    t: float
    """When the frame was taken, on the page's clock (ms)."""
    t_kind: str
    """Which timestamp `t` is: captureTime, or a fallback (expectedDisplayTime, rvfc-now)."""
    w: int
    h: int


CONTROL_ACTIONS = ("pause", "resume", "end")
PAGE_MESSAGES: dict[str, type] = {
    "pong": Pong,
    "camera": CameraState,
    "drawn": Drawn,
    "visibility": Visibility,
    "pause": PauseKey,
}
"""The participant's page's text messages, by type."""
DASHBOARD_MESSAGES: dict[str, type] = {"control": Control}
"""The dashboard's text messages, by type."""


def read_message(text: str, kinds: dict[str, type]) -> object:
    """The message in a text frame, as the dataclass of its type.

    Raises:
        ProtocolError: For text that is not a JSON object of one of `kinds`.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"a message is not JSON: {error}.") from error
    if not isinstance(data, dict) or data.get("type") not in kinds:
        raise ProtocolError(f"a message's type is not one of {sorted(kinds)}.")
    kind = kinds[data.pop("type")]
    result: object = from_dict(kind, data, f"a {kind.__name__} message", ProtocolError)
    return result


def read_frame(data: bytes) -> tuple[FrameHeader, bytes]:
    """A frame's header and its image bytes from a binary message.

    Raises:
        ProtocolError: For a message too short for its header, or a header that is not a
            `FrameHeader`.
    """
    if len(data) < 4:
        raise ProtocolError("a frame message is shorter than its length prefix.")
    (n,) = struct.unpack_from("<I", data)
    if len(data) < 4 + n:
        raise ProtocolError("a frame message is shorter than its header says.")
    try:
        header = json.loads(data[4 : 4 + n])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProtocolError(f"a frame's header is not JSON: {error}.") from error
    return from_dict(FrameHeader, header, "a frame header", ProtocolError), data[4 + n :]


def frame_message(header: FrameHeader, image: bytes) -> bytes:
    """A binary frame message as the page writes it (the tests play the page with it)."""
    head = json.dumps(
        {"seq": header.seq, "t": header.t, "t_kind": header.t_kind, "w": header.w, "h": header.h}
    ).encode()
    return struct.pack("<I", len(head)) + head + image
