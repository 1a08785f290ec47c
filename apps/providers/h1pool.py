"""A lean keep-alive HTTP/1.1 client: one asyncio Protocol per connection, httptools parsing, LIFO idle pools.

httpx + httpcore + anyio + h11 cost 0.5-1 ms of CPU per call (per-request socket polls of every idle
connection, pure-Python parsing, several objects per call). This client writes the request in one
`transport.write`, parses the answer with httptools (C) and keeps idle connections per origin and event
loop. Only `apps.providers.transport` uses it. No proxies, no HTTP/2, no redirects, no decompression
of streams (none are requested: no Accept-Encoding is sent).
"""
from __future__ import annotations

import asyncio
import ssl
import time
import weakref
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

import httptools

from apps.core.addresses import resolve_host

KEEPALIVE_EXPIRY = 60.0
MAX_IDLE_PER_ORIGIN = 200
Origin = tuple[str, str, int]
AddressCheck = Callable[[str], bool]  # whether a connection may be made to this resolved IP address


class StreamedBody(Protocol):
    """A request body of known length, read piece by piece (again for each attempt)."""

    @property
    def length(self) -> int: ...

    def pieces(self) -> AsyncIterator[bytes]: ...


class ConnectionClosed(ConnectionError):
    """The connection ended before a complete answer."""


class InvalidURL(ConnectionError):
    """The URL cannot be reached by this client (scheme, host or port)."""


class RefusedAddress(ConnectionError):
    """The host resolved, as the connection was made, to an address the request's check refuses."""


class Headers(Mapping[str, str]):
    """Response headers with case-insensitive lookup (names lower-cased; repeated names joined by ', ')."""

    __slots__ = ("_items",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        items: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            items[key] = f"{items[key]}, {text}" if key in items else text
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; answers one request at a time."""

    def __init__(self, origin: Origin, *, checked: bool = False) -> None:
        self.origin = origin
        self.checked = checked  # made by a request with an address check: pooled apart from the others
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.writable: asyncio.Future[None] | None = None  # set while the transport's write buffer is full
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.complete = False
        self.keep_alive = False
        self.received = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.head_done = False
        self.partial = False  # a streamed request body was cut short: never reused

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionClosed(f"invalid HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.resume_writing()
        if self.head_done and not self.complete and not self._framed():
            self.complete = True  # a body delimited by the end of the connection
            self._wake()
        elif not self.complete:
            self._fail(ConnectionClosed("connection closed by the upstream"))

    def pause_writing(self) -> None:
        if self.writable is None:
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        writable, self.writable = self.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    async def drain(self) -> None:
        """Until the transport can take more (a streamed request body is written no faster than it is sent)."""
        if self.writable is not None:
            await asyncio.shield(self.writable)
        if self.closed:
            raise self.error or ConnectionClosed("connection closed by the upstream")

    # --- httptools callbacks ---------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # only valid inside this callback
        self._wake()

    # --- internals -------------------------------------------------------------------------------

    def _framed(self) -> bool:
        names = {name.lower() for name, _ in self.raw_headers}
        return b"content-length" in names or b"transfer-encoding" in names

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def wait(self) -> None:
        """Until something new arrived (head, body bytes, completion) or the connection failed."""
        if self.error is not None:
            raise self.error
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def send(self, request: bytes) -> None:
        self._reset()
        assert self.transport is not None
        self.transport.write(request)

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.partial and not self.closed and self.error is None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Pool:
    """Idle connections per origin for one event loop, most recently used first."""

    def __init__(self) -> None:
        self.idle: dict[Origin, list[Connection]] = {}

    def take(self, origin: Origin) -> Connection | None:
        idle = self.idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < KEEPALIVE_EXPIRY:
                return connection
            connection.close()
        return None

    def give_back(self, connection: Connection) -> None:
        if not connection.reusable():
            connection.close()
            return
        idle = self.idle.setdefault(connection.origin, [])
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    def close(self) -> None:
        for idle in self.idle.values():
            for connection in idle:
                connection.close()
        self.idle.clear()


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool] = weakref.WeakKeyDictionary()
_checked_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool] = weakref.WeakKeyDictionary()


def pool(*, checked: bool = False) -> Pool:
    """The running loop's idle connections: those made with an address check apart, so a checked request never
    reuses a connection made to wherever the host resolved for an unchecked one."""
    pools = _checked_pools if checked else _pools
    loop = asyncio.get_running_loop()
    existing = pools.get(loop)
    if existing is None:
        existing = pools[loop] = Pool()
    return existing


def close_pool() -> None:
    for pools in (_pools, _checked_pools):
        existing = pools.pop(asyncio.get_running_loop(), None)
        if existing is not None:
            existing.close()


@lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@lru_cache(maxsize=4096)
def split(url: str) -> tuple[Origin, str, bytes]:
    """(origin, request target, Host header value) for a URL."""
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidURL("only http and https URLs with a host are supported")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host = parts.hostname
        host_header = (f"[{host}]" if ":" in host else host) + ("" if port == default else f":{port}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return (parts.scheme, host, port), target, host_header.encode("idna")
    except ValueError as exc:
        raise InvalidURL(type(exc).__name__) from None


def encode_head(method: str, target: str, host: bytes, headers: Mapping[str, str], length: int) -> bytes:
    """The request line and headers, with `content-length: length`."""
    return encode_request(method, target, host, headers, b"", length=length)


def encode_request(method: str, target: str, host: bytes, headers: Mapping[str, str], body: bytes, *,
                   length: int | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1")]
    lowered = {name.lower() for name in headers}
    if "host" not in lowered:
        lines.append(b"host: " + host + b"\r\n")
    for name, value in headers.items():
        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    lines.append(b"content-length: %d\r\n\r\n" % (len(body) if length is None else length))
    lines.append(body)
    return b"".join(lines)


async def connect(origin: Origin, timeout: float, check: AddressCheck | None = None) -> Connection:
    """A new connection to `origin`. With `check`, the host is resolved here and every address it resolves to must
    pass, and the connection goes to one of those very addresses (TLS still verifies the host name): what was
    checked is what is reached, with no second lookup that DNS could answer differently."""
    scheme, host, port = origin
    loop = asyncio.get_running_loop()
    tls = ssl_context() if scheme == "https" else None
    async with asyncio.timeout(timeout):
        if check is None:
            _, protocol = await loop.create_connection(lambda: Connection(origin), host, port, ssl=tls,
                                                       server_hostname=host if tls else None)
            return protocol
        return await _connect_checked(origin, check, tls)


async def _connect_checked(origin: Origin, check: AddressCheck, tls: ssl.SSLContext | None) -> Connection:
    _, host, port = origin
    loop = asyncio.get_running_loop()
    addresses = await resolve_host(host, port)
    if not addresses or not all(check(address) for address in addresses):
        raise RefusedAddress(f"{host} resolves to an address this request may not reach")
    failure: OSError | None = None
    for address in dict.fromkeys(addresses):
        try:
            _, protocol = await loop.create_connection(lambda: Connection(origin, checked=True), address, port,
                                                       ssl=tls, server_hostname=host if tls else None)
            return protocol
        except OSError as exc:  # the next address, as create_connection does for a host name
            failure = exc
    assert failure is not None
    raise failure


class Response:
    """An answer whose head has arrived; read the body whole (`read`) or as it arrives (`aiter_raw`)."""

    def __init__(self, connection: Connection, read_timeout: float | None) -> None:
        self.connection = connection
        self.status_code = connection.status
        self.read_timeout = read_timeout
        self._headers: Headers | None = None
        self._released = False

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self.connection.raw_headers)
        return self._headers

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive, everything already received in one piece; the idle timeout applies
        between pieces."""
        connection = self.connection
        try:
            while True:
                chunks = connection.chunks
                if chunks:  # what one read brought (a chunked body arrives as many pieces): one piece
                    data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                    chunks.clear()
                    yield data
                    continue
                if connection.complete:
                    break
                if self.read_timeout is None:
                    await connection.wait()
                else:
                    async with asyncio.timeout(self.read_timeout):
                        await connection.wait()
        except BaseException:
            self.aclose_now()
            raise
        self._release()

    async def read(self) -> bytes:
        """The whole body (gzip/deflate decoded if the upstream sent it so anyway)."""
        body = b"".join([piece async for piece in self.aiter_raw()])
        encoding = self.headers.get("content-encoding", "").lower() if body else ""
        if encoding in ("gzip", "deflate"):
            body = zlib.decompress(body, 47 if encoding == "gzip" else 15)
        return body

    def _release(self) -> None:
        if not self._released:
            self._released = True
            pool(checked=self.connection.checked).give_back(self.connection)

    def aclose_now(self) -> None:
        """Hang up unless the answer was read to its end (then the connection goes back to the pool)."""
        if not self._released:
            self._released = True
            self.connection.close()

    async def aclose(self) -> None:
        self.aclose_now()


async def request(method: str, url: str, headers: Mapping[str, str], body: bytes, *,
                  connect_timeout: float, read_timeout: float | None, check: AddressCheck | None = None) -> Response:
    """Send a request and return once the answer's head arrived; the caller bounds the total time. With `check`,
    only to addresses it passes (`connect`)."""
    origin, target, host = split(url)
    payload = encode_request(method, target, host, headers, body)
    connection = pool(checked=check is not None).take(origin)
    if connection is not None:
        try:
            return await _exchange(connection, payload, read_timeout)
        except ConnectionClosed:
            if connection.received:
                raise
            # The upstream closed the idle connection as it was reused, before answering: once more, fresh.
    return await _exchange(await connect(origin, connect_timeout, check), payload, read_timeout)


async def _exchange(connection: Connection, payload: bytes, read_timeout: float | None) -> Response:
    try:
        connection.send(payload)
        while not connection.head_done:
            await connection.wait()
    except BaseException:
        connection.close()
        raise
    return Response(connection, read_timeout)


async def request_streamed(method: str, url: str, headers: Mapping[str, str], body: StreamedBody, *,
                           connect_timeout: float, read_timeout: float | None) -> Response:
    """`request` with a body written piece by piece as the connection takes it (an upload read from a spool),
    never whole in memory; an upstream answering before the body is all sent stops the writing."""
    origin, target, host = split(url)
    head = encode_head(method, target, host, headers, body.length)
    connection = pool().take(origin)
    if connection is not None:
        try:
            return await _exchange_streamed(connection, head, body, read_timeout)
        except ConnectionClosed:
            if connection.received:
                raise
    return await _exchange_streamed(await connect(origin, connect_timeout), head, body, read_timeout)


async def _exchange_streamed(connection: Connection, head: bytes, body: StreamedBody,
                             read_timeout: float | None) -> Response:
    try:
        connection.send(head)
        async for piece in body.pieces():
            if connection.head_done:  # answered early (an error): the rest is not wanted
                connection.partial = True
                break
            assert connection.transport is not None
            connection.transport.write(piece)
            await connection.drain()
        while not connection.head_done:
            await connection.wait()
    except BaseException:
        connection.close()
        raise
    return Response(connection, read_timeout)
