"""uvicorn's httptools protocol (corked) with the bounds uvicorn itself lacks: head size, head and body timeouts.

uvicorn's httptools protocol has no limit on a request head (llhttp leaves it to the embedder, and uvicorn's
`h11_max_incomplete_event_size` is for h11 only), no timeout on a head or body that arrives a byte at a time
(its keep-alive timer is disarmed by the first byte), and a connection that never sends anything is held
until the client leaves. Here:

- a head past `TOLLGATE_MAX_HEADER_BYTES` is answered 431 and the connection closed;
- a head not complete `TOLLGATE_HEADER_TIMEOUT` seconds after its first byte (or after the connection opened)
  is answered 408 and the connection closed;
- a body not complete `TOLLGATE_BODY_TIMEOUT` seconds after its head, plus one second per
  `TOLLGATE_BODY_MIN_RATE` bytes received, is answered 408 (if nothing was answered yet) and the connection
  closed: the application sees the hang-up, so a slow client holds no in-flight slot;
- an answer sent before the request's body was all read (a 413) closes the connection lingering, as nginx
  does: the write side is shut and the rest of the body read and dropped for up to LINGER_SECONDS, so the
  client reads its answer instead of a connection reset.

A request whose head and body arrive in one read arms no timer beyond the head's, which is armed per
connection and per keep-alive request. Serve with `--http apps.core.bounded_http:BoundedHttpToolsProtocol`.
"""
from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from apps.core.corked_http import CorkedHttpToolsProtocol, CorkedTransport

LINGER_SECONDS = 5.0  # nginx's lingering_timeout
LINGER_BYTES = 64 * 1024 * 1024  # dropped at most, so a fast client cannot keep a lingering close busy


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    body_min_rate: float


@functools.cache
def connection_limits() -> ConnectionLimits:
    """The settings' limits, read once (uvicorn imports this module before the application sets Django up)."""
    from django.conf import settings

    return ConnectionLimits(max_header_bytes=settings.TOLLGATE_MAX_HEADER_BYTES,
                            header_timeout=settings.TOLLGATE_HEADER_TIMEOUT,
                            body_timeout=settings.TOLLGATE_BODY_TIMEOUT, body_min_rate=settings.TOLLGATE_BODY_MIN_RATE)


def refusal(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer in OpenAI's error shape that closes the connection."""
    body = ('{"error":{"message":"%s","type":"invalid_request_error","param":null,"code":"%s"}}'
            % (message, reason.lower().replace(" ", "_"))).encode()
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % (status, reason.encode(), len(body))) + body


class BoundedHttpToolsProtocol(CorkedHttpToolsProtocol):
    """The corked protocol with bounded heads, timed heads and bodies, and lingering closes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        corked = self.transport
        assert isinstance(corked, CorkedTransport)
        corked.linger = self._linger
        self.corked = corked
        self.limits = connection_limits()
        self.head_pending = True
        self.head_bytes = 0
        self.body_bytes = 0
        self.body_started = 0.0
        self.lingering = False
        self.timer: asyncio.TimerHandle | None = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:  # answered and closing: what still arrives is dropped unparsed
            self.body_bytes += len(data)
            if self.body_bytes > LINGER_BYTES:
                self.corked.inner.close()
            return
        super().data_received(data)
        if self.corked.is_closing():
            return
        if self.head_pending:
            self.head_bytes += len(data)  # every byte fed while the head is incomplete is the head's
            if self.head_bytes > self.limits.max_header_bytes:
                self._refuse(refusal(431, "Request Header Fields Too Large",
                                     f"The request head is larger than the limit of {self.limits.max_header_bytes} "
                                     "bytes (TOLLGATE_MAX_HEADER_BYTES)."))
        elif self.timer is None and self.cycle is not None and self.cycle.more_body:
            self.timer = self.loop.call_later(self.limits.body_timeout, self._body_check)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_pending = True
        self.head_bytes = 0
        if self.timer is None:
            self.timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self.head_pending = False
        self._disarm()
        self.body_bytes = 0
        self.body_started = self.loop.time()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _head_timed_out(self) -> None:
        self.timer = None
        if self.head_pending:
            self._refuse(refusal(408, "Request Timeout", "The request head did not arrive in time "
                                                         "(TOLLGATE_HEADER_TIMEOUT)."))

    def _body_check(self) -> None:
        """Past the body timeout: fine while the body keeps TOLLGATE_BODY_MIN_RATE on average, else cut off."""
        self.timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or cycle.response_complete:
            return
        allowed = self.body_started + self.limits.body_timeout + self.body_bytes / self.limits.body_min_rate
        if allowed > self.loop.time():
            self.timer = self.loop.call_at(allowed, self._body_check)
            return
        answer = b"" if cycle.response_started else refusal(
            408, "Request Timeout", "The request body did not arrive in time (TOLLGATE_BODY_TIMEOUT).")
        self._refuse(answer)

    def _refuse(self, answer: bytes) -> None:
        """Send `answer` (if any) and close lingering; the application, if it runs, sees the hang-up."""
        self.corked.flush()
        inner = self.corked.inner
        if inner.is_closing():
            return
        if answer:
            inner.write(answer)
        if not self._start_lingering():
            inner.close()
        elif self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the application's receive answers http.disconnect, its sends go nowhere
            self.cycle.message_event.set()

    def _linger(self) -> bool:
        """Asked when an answer closes the connection: with the request's body still arriving, close lingering."""
        cycle = self.cycle
        if cycle is None or not cycle.more_body or self.corked.inner.is_closing():
            return False
        return self._start_lingering()

    def _start_lingering(self) -> bool:
        """Shut the write side and drop what still arrives for up to LINGER_SECONDS before closing, as nginx does,
        so a client still sending reads its answer instead of a connection reset. False when already lingering."""
        if self.lingering:
            return False
        self.lingering = True
        self._disarm()
        self.body_bytes = 0
        inner = self.corked.inner
        if inner.can_write_eof():
            inner.write_eof()
        self.flow.resume_reading()  # reading may be paused on a body the application never read
        self.timer = self.loop.call_later(LINGER_SECONDS, inner.close)
        return True

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

