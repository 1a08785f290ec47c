"""The one real HTTP server every mock upstream runs on: stdlib, 127.0.0.1, a free port, a thread per connection.

A provider mock is a `respond(request) -> Reply` function speaking that provider's wire format (or a
`RecordingServer` subclass passing its own `respond`); the server records every request first:

    with RecordingServer(respond) as server:          # or server.start() ... server.stop()
        call(api_base=server.url)
        [request] = server.requests                   # Recorded: method, path, query, headers, body
        assert request.json() == {...}

Replies:
- `Reply.json(status, value, headers)`: one body with its Content-Length.
- `Reply.stream(pieces, content_type, delay=...)`: chunked transfer encoding, one chunk per piece, each
  written to the socket at once (`delay` seconds before each), so a client sees pieces as they are sent.
- `Reply(stall=True)`: no answer at all; the request is held until the client hangs up.
- `Reply.stream(pieces, stall=True)`: the pieces, then nothing more, held until the client hangs up (an upstream
  that hangs mid-stream).
- `Reply.stream(pieces, drop=True)`: the pieces, then the connection is cut without ending the chunked body (an
  upstream that died mid-stream).

A client hanging up on a stalled or streaming reply is counted (`hangups`, `hangup_event`); `pieces_sent`
counts the streamed pieces written. A responder's `AssertionError` (a twin rejecting what it was sent) is
kept in `failures` and answered 599. `reset()` forgets requests and counts (for a server shared by tests).
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from apps.core import jsonutil

HANGUP_POLL = 0.05  # seconds between checks on a held (stalled) request


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the server saw it: the path as sent (still percent-encoded), lower-cased header names."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonutil.loads(self.body)


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer: a whole `body`, or streamed `pieces` (non-empty bytes each), or nothing (`stall`)."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    pieces: Sequence[bytes] | None = None
    delay: float = 0.0  # seconds before each streamed piece
    stall: bool = False  # with pieces: hold after them
    drop: bool = False  # cut the connection after the pieces, without the chunked body's end

    @classmethod
    def json(cls, status: int, value: Any, headers: Mapping[str, str] | None = None) -> Reply:
        """`value` as a JSON body, with any extra headers."""
        return cls(status, {"Content-Type": "application/json", **(headers or {})}, jsonutil.dumps(value))

    @classmethod
    def stream(cls, pieces: Sequence[bytes], content_type: str = "text/event-stream", *, status: int = 200,
               delay: float = 0.0, headers: Mapping[str, str] | None = None, drop: bool = False,
               stall: bool = False) -> Reply:
        """`pieces` sent one chunk each (SSE events, NDJSON lines, event-stream messages)."""
        return cls(status, {"Content-Type": content_type, **(headers or {})}, pieces=pieces, delay=delay, drop=drop,
                   stall=stall)


Responder = Callable[[Recorded], Reply]


class RecordingServer:
    """Records every request and answers it with `respond(request)`; `url` is its base URL (no trailing slash)."""

    def __init__(self, respond: Responder) -> None:
        self.requests: list[Recorded] = []
        self.failures: list[str] = []
        self.hangups = 0
        self.hangup_event = threading.Event()
        self.pieces_sent = 0
        self._respond = respond
        self._count_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        """Forget what was received and counted so far."""
        self.requests.clear()
        self.failures.clear()
        with self._count_lock:
            self.hangups = 0
            self.pieces_sent = 0
        self.hangup_event.clear()

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests still held by a stall are let go."""
        self._stopping.set()
        if self._thread.is_alive():  # shutdown() would wait forever for a serve_forever() that never ran
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, request: Recorded) -> Reply:
        """Record `request`, then ask the responder; a failed assertion in it becomes a 599."""
        self.requests.append(request)
        try:
            return self._respond(request)
        except AssertionError as exc:
            self.failures.append(str(exc))
            return Reply(599, {"Content-Type": "text/plain"}, f"twin rejected: {exc}".encode())

    def hung_up(self) -> None:
        """Count a client that hung up on a held or streaming reply (called by the handler)."""
        with self._count_lock:
            self.hangups += 1
        self.hangup_event.set()

    def piece_sent(self) -> None:
        """Count one streamed piece written (called by the handler)."""
        with self._count_lock:
            self.pieces_sent += 1

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called: held requests let go."""
        return self._stopping.is_set()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a kept-alive connection must not hold up the test process
    request_queue_size = 128  # the gateway may open many upstream connections at once

    def __init__(self, owner: RecordingServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked transfer encoding for streams
    server: _HTTPServer

    def answer_request(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Recorded(method=self.command, path=url.path, query=parse_qs(url.query, keep_blank_values=True),
                           headers={name.lower(): value for name, value in self.headers.items()},
                           body=self.rfile.read(length))
        reply = self.server.owner.answer(request)
        try:
            if reply.stall and reply.pieces is None:
                self.hold_until_hangup()
            elif reply.pieces is None:
                self.send_whole(reply)
            else:
                self.send_stream(reply, reply.pieces)
        except (BrokenPipeError, ConnectionResetError):
            self.server.owner.hung_up()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer_request

    def send_whole(self, reply: Reply) -> None:
        self.send_head(reply, {"Content-Length": str(len(reply.body))})
        self.wfile.write(reply.body)

    def send_stream(self, reply: Reply, pieces: Sequence[bytes]) -> None:
        self.send_head(reply, {"Transfer-Encoding": "chunked"})
        for piece in pieces:
            if self.client_gone(reply.delay):
                self.server.owner.hung_up()
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            self.server.owner.piece_sent()
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.stall:
            self.hold_until_hangup()
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def send_head(self, reply: Reply, framing: Mapping[str, str]) -> None:
        self.send_response(reply.status)
        for name, value in {**reply.headers, **framing}.items():
            self.send_header(name, value)
        self.end_headers()

    def hold_until_hangup(self) -> None:
        self.close_connection = True
        while not self.server.owner.stopping:
            if self.client_gone(HANGUP_POLL):
                self.server.owner.hung_up()
                return

    def client_gone(self, wait: float) -> bool:
        """Wait up to `wait` seconds for the client to close the connection; whether it did."""
        self.connection.settimeout(wait)
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (TimeoutError, BlockingIOError):  # nothing yet (BlockingIOError: `wait` was 0)
            return False
        except ConnectionError:
            return True
        finally:
            self.connection.settimeout(None)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        return  # keep test output quiet
