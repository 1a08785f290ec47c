"""A real HTTP Anthropic Messages API twin on 127.0.0.1: checks what a client must send, records it, and
answers in Anthropic's wire format (JSON, or SSE when the body asks for `stream`).

`RecordingUpstream` is the small threaded server underneath; the Bedrock twin reuses it.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-ant-wire-test"


@dataclass(slots=True)
class Received:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class Reply:
    """What to answer: status, headers, and the body as one or more writes."""

    status: int
    headers: dict[str, str]
    parts: list[bytes] = field(default_factory=list)


Responder = Callable[[Received], Reply]


class RecordingUpstream:
    """A threaded HTTP/1.1 server; `responder` decides each answer and may raise AssertionError (-> 599)."""

    def __init__(self, responder: Responder) -> None:
        self.received: list[Received] = []
        self.failures: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("content-length") or 0)
                seen = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                self.rfile.read(length))
                upstream.received.append(seen)
                try:
                    reply = responder(seen)
                except AssertionError as exc:
                    upstream.failures.append(str(exc))
                    reply = Reply(599, {"content-type": "text/plain"}, [f"twin rejected: {exc}".encode()])
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(sum(len(part) for part in reply.parts)))
                self.end_headers()
                for part in reply.parts:
                    self.wfile.write(part)
                    self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RecordingUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


# --- the Anthropic twin ------------------------------------------------------------------------------

def sse(events: list[dict[str, Any]]) -> list[bytes]:
    """Anthropic's SSE framing: `event: <type>` then `data: <json>`, blank line between events."""
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events]


def check_messages_request(seen: Received) -> dict[str, Any]:
    """Assert the parts of a Messages API call the real API rejects when missing; return the body."""
    assert seen.method == "POST" and seen.path == "/v1/messages", f"{seen.method} {seen.path}"
    assert seen.headers.get("x-api-key") == API_KEY, "missing or wrong x-api-key"
    assert seen.headers.get("anthropic-version") == "2023-06-01", "missing anthropic-version"
    assert seen.headers.get("content-type") == "application/json"
    body = seen.json()
    assert isinstance(body.get("max_tokens"), int), "max_tokens is required"
    assert body.get("model") and body.get("messages"), "model and messages are required"
    assert all(message["role"] in ("user", "assistant") for message in body["messages"])
    return body


def anthropic_twin(answer: dict[str, Any], stream_events: list[dict[str, Any]]) -> RecordingUpstream:
    """A twin that answers `answer` as JSON, or `stream_events` as SSE when the call streams."""
    def respond(seen: Received) -> Reply:
        body = check_messages_request(seen)
        if body.get("stream"):
            return Reply(200, {"content-type": "text/event-stream"}, sse(stream_events))
        return Reply(200, {"content-type": "application/json"}, [json.dumps(answer).encode()])
    return RecordingUpstream(respond)


def error_twin(status: int, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> RecordingUpstream:
    """A twin that answers every call with an Anthropic error body."""
    def respond(seen: Received) -> Reply:
        check_messages_request(seen)
        return Reply(status, {"content-type": "application/json", **(headers or {})}, [json.dumps(body).encode()])
    return RecordingUpstream(respond)

