"""A real HTTP Anthropic Messages API twin on 127.0.0.1: checks what a client must send, records it, and
answers in Anthropic's wire format (JSON, or SSE when the body asks for `stream`).

`RecordingUpstream` is the small threaded server underneath; the Bedrock twin reuses it.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.upstreams.gateway import GatewayUpstream, Seen

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



# --- the twin the gateway end-to-end tests deploy ----------------------------------------------------

GATEWAY_MODEL = "claude-sonnet-4-20250514"
GATEWAY_USAGE = {"input_tokens": 12, "output_tokens": 6}


def gateway_answer(*, tools: bool) -> dict[str, Any]:
    """A Messages API answer: a tool_use block when tools were offered, else a fixed text."""
    block: dict[str, Any] = ({"type": "tool_use", "id": "toolu_e2e", "name": "get_weather", "input": {"city": "Paris"}}
                             if tools else {"type": "text", "text": "Hello from Anthropic."})
    return {"id": "msg_e2e", "type": "message", "role": "assistant", "model": GATEWAY_MODEL, "content": [block],
            "stop_reason": "tool_use" if tools else "end_turn", "stop_sequence": None, "usage": GATEWAY_USAGE}


def gateway_events(*, tools: bool) -> list[dict[str, Any]]:
    """The streamed twin of `gateway_answer`: text deltas, or a tool_use block with input_json_delta pieces."""
    if tools:
        start: dict[str, Any] = {"type": "tool_use", "id": "toolu_e2e", "name": "get_weather", "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in ("{\"ci", "ty\": \"Pa", "ris\"}")]
    else:
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in ("Hello", " from Anthropic.")]
    message: dict[str, Any] = {"id": "msg_e2e_s", "type": "message", "role": "assistant", "content": [],
                               "model": GATEWAY_MODEL, "stop_reason": None,
                               "usage": {"input_tokens": 12, "output_tokens": 1}}
    return [{"type": "message_start", "message": message},
            {"type": "content_block_start", "index": 0, "content_block": start},
            *[{"type": "content_block_delta", "index": 0, "delta": delta} for delta in deltas],
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use" if tools else "end_turn",
                                                "stop_sequence": None}, "usage": {"output_tokens": 6}},
            {"type": "message_stop"}]


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """An Anthropic twin that answers text, or a tool call when tools are offered, deployable through the gateway."""
    def respond(seen: Received) -> Reply:
        body = check_messages_request(seen)
        tools = bool(body.get("tools"))
        if body.get("stream"):
            return Reply(200, {"content-type": "text/event-stream"}, sse(gateway_events(tools=tools)))
        return Reply(200, {"content-type": "application/json"}, [json.dumps(gateway_answer(tools=tools)).encode()])

    with RecordingUpstream(respond) as twin:
        yield GatewayUpstream(
            provider="anthropic", provider_model=GATEWAY_MODEL, api_base=twin.base_url, api_key=API_KEY,
            received=lambda: [Seen(seen.path, seen.headers) for seen in twin.received],
            paths={"chat": "/v1/messages", "stream": "/v1/messages"}, auth=("x-api-key", API_KEY),
            text="Hello from Anthropic.", stream_text="Hello from Anthropic.", tool_arguments={"city": "Paris"})
    assert twin.failures == []
