"""Incremental stream decoders: bytes as they arrive in, whole `Frame`s out.

Each decoder is fed arbitrary byte slices (network reads split anywhere) and returns the frames
completed so far; `close()` returns what a final unterminated frame held.
"""
from __future__ import annotations

import struct
import uuid
import zlib
from typing import Protocol

from apps.providers.base import Frame, UpstreamError


class FrameDecoder(Protocol):
    def feed(self, data: bytes) -> list[Frame]: ...

    def close(self) -> list[Frame]: ...


class SSEDecoder:
    """Server-Sent Events (WHATWG): `event:`/`data:` fields, blank line ends an event, `:` comments."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self._buffer + data if self._buffer else data
        if b"\r" not in buffer:  # the usual case: lines end with \n alone, so one split finds them all
            *lines, self._buffer = buffer.split(b"\n")
            return [frame for line in lines if (frame := self._line(line)) is not None]
        self._buffer = buffer
        frames: list[Frame] = []
        while True:
            line, sep, rest = _split_line(self._buffer)
            if not sep:
                break
            self._buffer = rest
            frame = self._line(line)
            if frame is not None:
                frames.append(frame)
        return frames

    def close(self) -> list[Frame]:
        frames: list[Frame] = []
        if self._buffer:
            frame = self._line(self._buffer)
            self._buffer = b""
            if frame is not None:
                frames.append(frame)
        frame = self._line(b"")
        if frame is not None:
            frames.append(frame)
        return frames

    def _line(self, line: bytes) -> Frame | None:
        if not line:
            if not self._data and self._event is None:
                return None
            data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
            frame = Frame(data=data, event=self._event)
            self._event, self._data = None, []
            return frame
        if line.startswith(b"data: "):
            self._data.append(line[6:])
            return None
        if line.startswith(b":"):
            return None
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        return None


def _split_line(buffer: bytes) -> tuple[bytes, bytes, bytes]:
    """Split off the first line, accepting \\n, \\r\\n and lone \\r endings."""
    newline = buffer.find(b"\n")
    carriage = buffer.find(b"\r")
    if carriage == -1 or (newline != -1 and newline < carriage):
        if newline == -1:
            return buffer, b"", b""
        return buffer[:newline], b"\n", buffer[newline + 1:]
    if carriage + 1 == len(buffer):
        return buffer, b"", b""  # wait: a \\n may follow in the next read
    skip = 2 if buffer[carriage + 1] == 0x0A else 1
    return buffer[:carriage], buffer[carriage:carriage + skip], buffer[carriage + skip:]


class NDJSONDecoder:
    """Newline-delimited JSON: one frame per non-empty line."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [Frame(data=line.strip()) for line in lines if line.strip()]

    def close(self) -> list[Frame]:
        rest, self._buffer = self._buffer.strip(), b""
        return [Frame(data=rest)] if rest else []


class AWSEventStreamDecoder:
    """`application/vnd.amazon.eventstream` messages, both CRC32s checked.

    Layout: prelude (total length, headers length, both big-endian uint32; prelude CRC32), headers
    (name length byte, name, type byte, value), payload, message CRC32 over everything before it.
    `Frame.event` is `:event-type` (or `:exception-type` / `:error-code`); every header lands in
    `Frame.headers` as a string.
    """

    PRELUDE = 12
    MAX_MESSAGE = 24 * 1024 * 1024 + 128 * 1024 + 16  # botocore's payload + headers limits

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= self.PRELUDE:
            total, headers_length, prelude_crc = struct.unpack(">III", self._buffer[:self.PRELUDE])
            _check_crc(self._buffer[:8], prelude_crc, part="prelude")
            if total > self.MAX_MESSAGE or headers_length > total - 16:
                raise _corrupt(f"message length {total} / headers length {headers_length} out of range")
            if len(self._buffer) < total:
                break
            message, self._buffer = self._buffer[:total], self._buffer[total:]
            (message_crc,) = struct.unpack(">I", message[-4:])
            _check_crc(message[:-4], message_crc, part="message")
            headers = _event_headers(message[self.PRELUDE:self.PRELUDE + headers_length])
            frames.append(Frame(data=message[self.PRELUDE + headers_length:-4], event=_event_name(headers),
                                headers=headers))
        return frames

    def close(self) -> list[Frame]:
        if self._buffer:
            left, self._buffer = len(self._buffer), b""
            raise _corrupt(f"stream ended inside a message ({left} bytes left over)")
        return []


def _corrupt(detail: str) -> UpstreamError:
    return UpstreamError(f"corrupt AWS event stream: {detail}", status=502, error_type="api_error",
                         code="invalid_stream")


def _check_crc(data: bytes, expected: int, *, part: str) -> None:
    computed = zlib.crc32(data) & 0xFFFFFFFF
    if computed != expected:
        raise _corrupt(f"{part} CRC32 0x{computed:08x} != 0x{expected:08x}")


def _event_name(headers: dict[str, str]) -> str | None:
    for name in (":event-type", ":exception-type", ":error-code"):
        if name in headers:
            return headers[name]
    return None


# Header value types: fixed-width integers (struct formats; 8 is a millisecond timestamp).
_FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}


def _event_headers(raw: bytes) -> dict[str, str]:
    """Decode an event-stream header block into strings (booleans "true"/"false", uuids canonical)."""
    headers: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        name_length = raw[pos]
        name = raw[pos + 1:pos + 1 + name_length].decode("utf-8")
        kind = raw[pos + 1 + name_length]
        headers[name], pos = _header_value(raw, kind=kind, pos=pos + 2 + name_length)
    return headers


def _header_value(raw: bytes, *, kind: int, pos: int) -> tuple[str, int]:
    """One header value of type `kind` starting at `pos`, and the position after it."""
    if kind in (0, 1):
        return ("true" if kind == 0 else "false"), pos
    if kind in _FIXED:
        width = struct.calcsize(_FIXED[kind])
        return str(struct.unpack(_FIXED[kind], raw[pos:pos + width])[0]), pos + width
    if kind in (6, 7):
        (length,) = struct.unpack(">H", raw[pos:pos + 2])
        blob = raw[pos + 2:pos + 2 + length]
        return (blob.decode("utf-8", "replace") if kind == 7 else blob.hex()), pos + 2 + length
    if kind == 9:
        return str(uuid.UUID(bytes=raw[pos:pos + 16])), pos + 16
    raise _corrupt(f"unknown header value type {kind}")

DECODERS: dict[str, type] = {"sse": SSEDecoder, "ndjson": NDJSONDecoder, "aws-eventstream": AWSEventStreamDecoder}


def decoder_for(framing: str) -> FrameDecoder:
    """A fresh decoder for the adapter's framing."""
    try:
        return DECODERS[framing]()
    except KeyError:
        raise ValueError(f"no stream decoder for framing {framing!r}") from None
