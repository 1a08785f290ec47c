"""A lean multiplexed Redis client: one pipelined connection per event loop, RESP parsed by hiredis.

redis-py's asyncio client cost ~0.26 ms of CPU per /v1 call (pool checkout, command packing, one
write and one read per command per caller). Here every command issued in one loop turn leaves in one
`transport.write`, hiredis parses the replies in C, and Redis answers in order, so each reply goes to
the oldest waiting future. A caller cancelled while waiting leaves its future in the queue: its reply
still arrives and is dropped, so later replies stay matched. Only the state backend uses this client
(`apps.core.state.redis`, for its async methods; behind Sentinel or over a Cluster through `sentinel.py` and
`cluster.py`); sync writers keep redis-py. Errors are redis-py's exception classes,
so callers keep one error contract. No blocking commands (a reply owed past the command timeout drops the
connection) and no pub/sub.

A connection can die without a sign while it idles (a NAT or load balancer forgets the flow), and the next
command would then fail. TCP keepalive probes it, and a command that finds it idle past the health-check
interval waits for a PING first: if the PING fails, the commands go out on a new connection instead. A
command already written is never sent again, since Redis may have run it (a settle must not count twice);
it fails with RedisUnreachable.
"""
from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
import redis.exceptions as errors

# TCP keepalive: the first probe after this many idle seconds, then one every KEEPALIVE_INTERVAL, and the
# connection is dropped after KEEPALIVE_PROBES unanswered ones.
KEEPALIVE_IDLE = 60
KEEPALIVE_INTERVAL = 10
KEEPALIVE_PROBES = 3
Arg = str | bytes | int | float
# One command as RESP bytes, in C. (hiredis's stub types the argument as a 1-tuple.)
pack = cast(Callable[[tuple[Arg, ...]], bytes], hiredis.pack_command)
PING = pack(("PING",))

ERROR_CLASSES: dict[str, type[errors.ResponseError] | type[errors.ConnectionError]] = {
    "NOSCRIPT": errors.NoScriptError, "WRONGPASS": errors.AuthenticationError, "NOAUTH": errors.AuthenticationError,
    "NOPERM": errors.NoPermissionError, "READONLY": errors.ReadOnlyError, "OOM": errors.OutOfMemoryError,
    "EXECABORT": errors.ExecAbortError, "LOADING": errors.BusyLoadingError,
}


class RedisUnreachable(errors.ConnectionError, ConnectionError):
    """Redis could not be reached, or the connection ended before the reply."""


class ReplyTimeout(RedisUnreachable, errors.TimeoutError, TimeoutError):
    """Redis owed a reply for the reply timeout without sending a byte."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """The client's clocks, in seconds (settings TOLLGATE_REDIS_*)."""

    connect: float = 10.0  # to connect, TLS, AUTH and SELECT included
    # One ordered connection cannot skip a reply, so the reply timeout is the connection's: when a reply has
    # been owed this long with no byte received, the connection is dropped and every waiting command fails.
    reply: float = 10.0
    health_check: float = 30.0  # idle this long, a connection is PINGed before the next command (0 = never)


def reply_error(message: str) -> Exception:
    """The redis-py exception for an error reply (`NOSCRIPT ...` is a NoScriptError)."""
    return ERROR_CLASSES.get(message.split(" ", 1)[0], errors.ResponseError)(message)


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, called by its SHA1 (EVALSHA) and sent whole only when Redis does not know it."""

    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> Script:
        return cls(text, hashlib.sha1(text.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class Address:
    """Where and as whom to connect, from a redis-py style URL."""

    host: str = "localhost"
    port: int = 6379
    path: str = ""  # a unix socket
    tls: ssl.SSLContext | None = None
    username: str | None = None
    password: str | None = None
    db: int = 0

    def greeting(self) -> list[tuple[Arg, ...]]:
        """AUTH and SELECT, as needed."""
        commands: list[tuple[Arg, ...]] = []
        if self.password is not None:
            commands.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            commands.append(("SELECT", self.db))
        return commands


def parse_url(url: str) -> Address:
    """`redis://[user:pass@]host:port/db`, `rediss://` (TLS), `unix:///path.sock`; `?db=`, `?password=` too.

    `?ssl_cert_reqs=none` turns off certificate checks (self-signed managed Redis); other redis-py query
    options tune redis-py's own pool and are ignored here.
    """
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
    db = int(query.get("db") or (parts.path.lstrip("/") if parts.scheme != "unix" else "") or "0")
    password = unquote(parts.password) if parts.password else query.get("password")
    username = (unquote(parts.username) if parts.username else query.get("username")) or None
    if parts.scheme == "unix":
        return Address(path=parts.path, username=username, password=password, db=db)
    tls = None
    if parts.scheme == "rediss":
        tls = ssl.create_default_context()
        if query.get("ssl_cert_reqs", "").lower() == "none":
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
    return Address(host=parts.hostname or "localhost", port=parts.port or 6379, tls=tls, username=username,
                   password=password, db=db)


def keep_alive(sock: socket.socket | None) -> None:
    """Turn TCP keepalive on, probing after KEEPALIVE_IDLE idle seconds (where the platform lets us say)."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a unix socket has no peer to lose
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE), ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
                          ("TCP_KEEPCNT", KEEPALIVE_PROBES)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class Connection(asyncio.Protocol):
    """One Redis connection: writes batched per loop turn, replies matched to futures in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, reply_timeout: float) -> None:
        self.loop = loop
        self.reply_timeout = reply_timeout
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader(replyError=reply_error)
        self.pending: deque[tuple[asyncio.Future[Any], int]] = deque()  # (future, replies it takes)
        self.partial: list[Any] = []  # replies gathered so far for the oldest multi-reply future
        self.buffer: list[bytes] = []
        self.closed = False
        self.error: Exception | None = None
        self.received = 0  # data_received calls, the watchdog's sign of progress
        self.watchdog: asyncio.TimerHandle | None = None
        self.last_heard = loop.time()  # when Redis last sent bytes (or the connection was made)

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        keep_alive(transport.get_extra_info("socket"))
        self.last_heard = self.loop.time()

    def data_received(self, data: bytes) -> None:
        self.received += 1
        self.last_heard = self.loop.time()
        reader = self.reader
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                self._deliver(reply)
        except hiredis.ProtocolError as exc:
            self.abort(RedisUnreachable(f"invalid reply from Redis: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisUnreachable(f"connection to Redis lost ({type(exc).__name__ if exc else 'closed'})"))

    # --- internals -------------------------------------------------------------------------------

    def _deliver(self, reply: Any) -> None:
        if not self.pending:
            raise hiredis.ProtocolError("a reply nobody asked for")
        future, count = self.pending[0]
        if count > 1:
            self.partial.append(reply)
            if len(self.partial) < count:
                return
            reply, self.partial = self.partial, []
        self.pending.popleft()
        if not future.done():  # a cancelled caller's reply is dropped here
            future.set_result(reply)

    def _fail(self, error: Exception) -> None:
        if not self.closed:
            self.closed = True
            self.error = error
        self.buffer.clear()
        self.partial = []
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        pending, self.pending = self.pending, deque()
        first = self.error or error
        for future, _ in pending:
            if not future.done():  # one instance each: a shared one would gather every raiser's traceback
                future.set_exception(type(first)(*first.args))

    def _flush(self) -> None:
        buffer = self.buffer
        if buffer and not self.closed:
            assert self.transport is not None
            self.transport.write(buffer[0] if len(buffer) == 1 else b"".join(buffer))
            buffer.clear()

    def _watch(self, seen: int) -> None:
        self.watchdog = None
        if not self.pending or self.closed:
            return
        if self.received == seen:
            self.abort(ReplyTimeout(f"no reply from Redis in {self.reply_timeout:g} s"))
        else:
            self.watchdog = self.loop.call_later(self.reply_timeout, self._watch, self.received)

    # --- used by Client --------------------------------------------------------------------------

    def send(self, payload: bytes, count: int) -> asyncio.Future[Any]:
        """Queue `count` packed commands for this loop turn's write; the future gets their reply (or list)."""
        future = self.loop.create_future()
        if not self.buffer:
            self.loop.call_soon(self._flush)
        self.buffer.append(payload)
        self.pending.append((future, count))
        if self.watchdog is None:
            self.watchdog = self.loop.call_later(self.reply_timeout, self._watch, self.received)
        return future

    def idle_past(self, seconds: float) -> bool:
        """Nothing owed and nothing heard for longer than `seconds` (False when `seconds` is 0: no checks)."""
        return 0 < seconds < self.loop.time() - self.last_heard and not self.pending

    def abort(self, error: Exception) -> None:
        """Drop the connection now; every waiting command fails with `error`."""
        self._fail(error)
        if self.transport is not None:
            self.transport.abort()


class Client:
    """Commands to one Redis server over one pipelined connection, for the event loop that first uses it."""

    def __init__(self, address: Address, *, timeouts: Timeouts = Timeouts()) -> None:
        self.address = address
        self.timeouts = timeouts
        self.connection: Connection | None = None
        self._opening: asyncio.Task[Connection] | None = None
        self._checking: asyncio.Task[Connection] | None = None

    async def execute(self, *args: Arg) -> Any:
        """One command's reply (bytes, int, None or a list); an error reply raises."""
        connection = self._current() or await self._ready()
        reply = await connection.send(pack(args), 1)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def pipeline(self, commands: Sequence[tuple[Arg, ...]]) -> list[Any]:
        """Every command's reply in order, sent in one write; error replies come back as exceptions."""
        if not commands:
            return []
        connection = self._current() or await self._ready()
        payload = b"".join([pack(command) for command in commands])
        replies = await connection.send(payload, len(commands))
        return replies if len(commands) > 1 else [replies]

    async def script(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """EVALSHA, or EVAL (which also caches the script) when Redis does not know the script."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except errors.NoScriptError:
            return await self.execute("EVAL", script.text, len(keys), *keys, *args)

    def close(self) -> None:
        """Drop the connection; commands still waiting fail."""
        if self.connection is not None:
            self.connection.abort(RedisUnreachable("client closed"))
            self.connection = None

    def _current(self) -> Connection | None:
        """The connection, when commands can go on it at once (open, not idle past the health-check interval)."""
        connection = self.connection
        if connection is None or connection.closed or self._checking is not None:
            return None
        return None if connection.idle_past(self.timeouts.health_check) else connection

    async def _ready(self) -> Connection:
        """The connection to write on: a new one if there is none, or a checked one if it idled too long."""
        connection = self.connection
        if connection is None or connection.closed:
            return await self._connect()
        task = self._checking
        if task is None:
            if not connection.idle_past(self.timeouts.health_check):
                return connection
            task = self._checking = asyncio.get_running_loop().create_task(self._check(connection))
            task.add_done_callback(self._checked)
        # Commands that arrive meanwhile wait too: written behind the PING, they would die with it.
        return await asyncio.shield(task)

    async def _check(self, connection: Connection) -> Connection:
        """PING an idle connection; if it died, open another (nothing but the PING was written on this one)."""
        try:
            await connection.send(PING, 1)  # any reply, an error reply too, shows the connection works
            return connection
        except RedisUnreachable:
            connection.abort(RedisUnreachable("connection failed its health check"))
            return await self._connect()

    def _checked(self, task: asyncio.Task[Connection]) -> None:
        self._checking = None

    async def _connect(self) -> Connection:
        # Concurrent callers share one connection attempt; a cancelled caller does not cancel it for the others.
        task = self._opening
        if task is None:
            task = self._opening = asyncio.get_running_loop().create_task(self._open())
            task.add_done_callback(self._opened)
        return await asyncio.shield(task)

    def _opened(self, task: asyncio.Task[Connection]) -> None:
        self._opening = None
        if not task.cancelled() and task.exception() is None:
            self.connection = task.result()

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        address = self.address
        where = address.path or f"{address.host}:{address.port}"
        connection: Connection | None = None
        def protocol() -> Connection:
            return Connection(loop, reply_timeout=self.timeouts.reply)

        try:
            async with asyncio.timeout(self.timeouts.connect):
                if address.path:
                    _, connection = await loop.create_unix_connection(protocol, address.path)
                else:
                    _, connection = await loop.create_connection(
                        protocol, address.host, address.port, ssl=address.tls,
                        server_hostname=address.host if address.tls else None)
                greeting = address.greeting()
                if greeting:
                    payload = b"".join([pack(command) for command in greeting])
                    replies = await connection.send(payload, len(greeting))
                    for reply in replies if len(greeting) > 1 else [replies]:
                        if isinstance(reply, Exception):
                            raise reply
        except BaseException as exc:
            if connection is not None:
                connection.abort(RedisUnreachable("connection set-up failed"))
            if isinstance(exc, OSError) and not isinstance(exc, RedisUnreachable):
                raise RedisUnreachable(f"cannot connect to Redis at {where}: {type(exc).__name__}") from exc
            raise
        return connection
