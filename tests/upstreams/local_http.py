"""A tiny real HTTP server on 127.0.0.1 for wire tests: records each request, answers via a handler function."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from apps.core import jsonutil


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON


@dataclass(slots=True)
class Reply:
    """What to send back: a status, headers, and either one body or a sequence of streamed pieces."""

    status: int
    body: bytes = b""
    pieces: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Recorded], Reply]


class LocalServer:
    """Runs `respond` for every request on a free port; use as a context manager."""

    def __init__(self, respond: Responder) -> None:
        self.requests: list[Recorded] = []
        self._respond = respond
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                url = urlsplit(self.path)
                recorded = Recorded(method="POST", path=url.path, query=parse_qs(url.query),
                                    headers={k.lower(): v for k, v in self.headers.items()},
                                    body=jsonutil.loads(raw) if raw else None)
                server.requests.append(recorded)
                server.send(self, server._respond(recorded))

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output quiet

        return Handler

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.pieces:
            # HTTP/1.0 without a length: the body ends when the connection closes, read as it is written.
            handler.end_headers()
            for piece in reply.pieces:
                handler.wfile.write(piece)
                handler.wfile.flush()
            return
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)


def json_reply(status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=jsonutil.dumps(value),
                 headers={"Content-Type": "application/json", **(headers or {})})

