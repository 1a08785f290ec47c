"""Incremental stream decoders: bytes as they arrive in, whole `Frame`s out.

Each decoder is fed arbitrary byte slices (network reads split anywhere) and returns the frames
completed so far; `close()` returns what a final unterminated frame held.
"""
from __future__ import annotations

from typing import Protocol

from apps.providers.base import Frame


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
        self._buffer += data
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
            frame = Frame(data=b"\n".join(self._data), event=self._event)
            self._event, self._data = None, []
            return frame
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


DECODERS: dict[str, type] = {"sse": SSEDecoder, "ndjson": NDJSONDecoder}


def decoder_for(framing: str) -> FrameDecoder:
    """A fresh decoder for the adapter's framing."""
    try:
        return DECODERS[framing]()
    except KeyError:
        raise ValueError(f"no stream decoder for framing {framing!r}") from None
