"""Decoding an image file with its size checked first, so no file can make laetitia decode a bomb.

A compressed image says its width and height in its header, and a decoder allocates what they
ask for: a 1 MB PNG can say 20000 x 20000 and take gigabytes to decode. Every image laetitia
reads from a file it did not write in this run (a session's frames, an image given as a camera,
an image to classify, a dataset's faces) is decoded by `decode_image`, which reads the width and
height from the header (`image_size`) and refuses the file when they exceed the pixel limit,
before OpenCV sees a byte of it.

The limit is `MAX_PIXELS` (40 million pixels: an 8K frame is 33 million), and
`$LAETITIA_MAX_IMAGE_PIXELS` overrides it. The formats read are those whose header states the
size where this module can find it: PNG, JPEG, BMP, PNM (pgm, ppm), TIFF and WebP; a file of
another format is refused as not an image.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from laetitia.errors import LaetitiaError

MAX_PIXELS = 40_000_000
"""The most pixels (width x height) an image may have to be decoded."""
MAX_PIXELS_ENV = "LAETITIA_MAX_IMAGE_PIXELS"
"""Environment variable that overrides `MAX_PIXELS` (a whole number of pixels)."""
FORMATS = ("PNG", "JPEG", "BMP", "PNM", "TIFF", "WebP")
"""The image formats whose size `image_size` reads."""


def max_pixels() -> int:
    """The pixel limit in force: `$LAETITIA_MAX_IMAGE_PIXELS`, else `MAX_PIXELS`.

    Raises:
        LaetitiaError: If the variable is set to something other than a positive whole number.
    """
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return MAX_PIXELS
    if not text.isdigit() or int(text) < 1:
        raise LaetitiaError(
            f"${MAX_PIXELS_ENV} is {text!r}; set it to a whole number of pixels (the default "
            f"is {MAX_PIXELS}), or unset it."
        )
    return int(text)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) an image file's header states, or None if it is not a format of `FORMATS`.

    Only the header is read; nothing is decoded. A header cut short gives None.
    """
    try:
        for reader in (_png, _jpeg, _bmp, _pnm, _tiff, _webp):
            size = reader(data)
            if size is not None:
                return size
    except (struct.error, IndexError, ValueError):
        return None
    return None


def check_image_size(data: bytes, source: str, error: type[LaetitiaError] = LaetitiaError) -> None:
    """Refuse an image whose header is unreadable or states more pixels than the limit.

    Args:
        data: The file's bytes.
        source: What the file is, for the message (its path, or the session entry naming it).
        error: The error to raise.

    Raises:
        error: If the format is not one of `FORMATS`, or the image is over `max_pixels()`.
    """
    size = image_size(data)
    if size is None:
        raise error(
            f"{source} is not an image laetitia reads (a {', '.join(FORMATS)} file with a "
            "whole header); re-save it as PNG."
        )
    width, height = size
    limit = max_pixels()
    if width * height > limit:
        raise error(
            f"{source} is {width}x{height} pixels, over the limit of {limit} pixels, so it is "
            f"not decoded; shrink it, or raise the limit with ${MAX_PIXELS_ENV} if you trust it."
        )


def decode_image(
    data: bytes, source: str, flags: int | None = None, error: type[LaetitiaError] = LaetitiaError
) -> np.ndarray:
    """Decode an image file's bytes with OpenCV, after `check_image_size`.

    Args:
        data: The file's bytes.
        source: What the file is, for messages.
        flags: `cv2.imdecode` flags; None for `cv2.IMREAD_UNCHANGED`.
        error: The error to raise.

    Returns:
        The image as OpenCV gives it (BGR or grey uint8 for the usual files).

    Raises:
        error: If the header is unreadable, the image is too large, or it does not decode.
    """
    import cv2

    check_image_size(data, source, error)
    mode = cv2.IMREAD_UNCHANGED if flags is None else flags
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), mode)
    except cv2.error:
        image = None
    if image is None:
        raise error(f"{source} cannot be decoded as an image (damaged); replace it.")
    return image


def read_image(
    path: Path, flags: int | None = None, error: type[LaetitiaError] = LaetitiaError
) -> np.ndarray:
    """Read and decode one image file (`decode_image`); a FIFO or device is never opened.

    Raises:
        error: If it is not a regular file, cannot be read, is too large, or does not decode.
    """
    if not path.is_file():
        raise error(f"{path} is not a regular file; name an image file.")
    try:
        data = path.read_bytes()
    except OSError as failure:
        raise error(f"{path} cannot be read: {failure.strerror or failure}.") from failure
    return decode_image(data, str(path), flags, error)


def _png(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
"""JPEG markers that start a frame (SOFn), whose header holds the image's size."""


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xDA or length < 2:  # image data before any frame header
            return None
        at += 2 + length
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"BM"):
        return None
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def _pnm(data: bytes) -> tuple[int, int] | None:
    if len(data) < 2 or data[0:1] != b"P" or data[1:2] not in b"123456":
        return None
    fields: list[int] = []
    for line in data[2:1024].split(b"\n"):
        for token in line.split(b"#", 1)[0].split():
            fields.append(int(token))
            if len(fields) == 2:
                return fields[0], fields[1]
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    size: dict[int, int] = {}
    for i in range(count):
        entry = data[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):  # ImageWidth, ImageLength: a SHORT or a LONG
            fmt = order + ("H" if kind == 3 else "I")
            size[tag] = struct.unpack(fmt, entry[8 : 8 + struct.calcsize(fmt)])[0]
    if 256 not in size or 257 not in size:
        return None
    return size[256], size[257]


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None
