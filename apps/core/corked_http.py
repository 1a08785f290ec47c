"""uvicorn's httptools protocol, with a response's writes of one loop turn sent to the socket as one.

uvicorn writes the head of a response, each body message and a chunked response's terminator with a
`transport.write` each, and a write to a socket is a system call that, on loopback or a virtual NIC,
also runs the receiver's TCP path. A non-streamed answer costs two writes, a short streamed one four
(head, events, `[DONE]`, terminator), and the client wakes for each. Here every write of one loop turn
is queued and sent with one write at the end of the turn: a complete answer goes out whole, and a
stream's head goes out together with the events already in hand. Nothing waits for more data: the
queue is flushed on the next loop iteration, before any I/O wait.

Serve with `--http apps.core.corked_http:CorkedHttpToolsProtocol` (what `manage.py serve` does).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CorkedTransport(asyncio.Transport):
    """A transport whose writes of one loop turn reach the wrapped transport as one write.

    Closing, `write_eof` and aborting act on what is queued first (flushed, flushed, dropped), so the
    order of bytes on the wire is the order of the writes. Everything else is the wrapped transport's.
    """

    __slots__ = ("inner", "loop", "pending", "flush_scheduled", "closing", "linger")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.inner = inner
        self.loop = loop
        self.pending: list[bytes] = []
        self.flush_scheduled = False
        self.closing = False
        # Asked on close: True when the protocol closes the connection itself later (a lingering close).
        self.linger: Callable[[], bool] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self.pending.append(bytes(data))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send what is queued, in one write; dropped if the connection is already going away."""
        self.flush_scheduled = False
        if not self.pending:
            return
        data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending.clear()
        if not self.inner.is_closing():
            self.inner.write(data)

    def close(self) -> None:
        self.flush()
        self.closing = True
        if self.linger is not None and self.linger():
            return
        self.inner.close()

    def write_eof(self) -> None:
        self.flush()
        self.inner.write_eof()

    def abort(self) -> None:
        self.pending.clear()
        self.inner.abort()

    def is_closing(self) -> bool:
        return self.closing or self.inner.is_closing()

    def can_write_eof(self) -> bool:
        return self.inner.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self.inner.get_write_buffer_size() + sum(len(data) for data in self.pending)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.inner.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.inner.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self.inner.pause_reading()

    def resume_reading(self) -> None:
        self.inner.resume_reading()

    def is_reading(self) -> bool:
        return self.inner.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.inner.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.inner.get_extra_info(name, default)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools) over a `CorkedTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(CorkedTransport(cast(asyncio.Transport, transport), self.loop))
