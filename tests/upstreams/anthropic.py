"""An Anthropic Messages API twin: checks what a client must send, records it, and answers in Anthropic's
wire format (JSON, or SSE when the body asks for `stream`)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anthropic._constants import ANTHROPIC_API_VERSION as CLIENT_VERSION

from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "sk-ant-wire-test"
# API versions the twin accepts: Anthropic's dated ones the adapter and tests send, and the one the installed
# `anthropic` client sends (/v1/messages passes the client's through).
VERSIONS = ("2023-01-01", "2023-06-01", CLIENT_VERSION)


def sse(events: list[dict[str, Any]]) -> list[bytes]:
    """Anthropic's SSE framing: `event: <type>` then `data: <json>`, blank line between events."""
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events]


def check_messages_request(seen: Recorded) -> dict[str, Any]:
    """Assert the parts of a Messages API call the real API rejects when missing; return the body."""
    assert (seen.method, seen.path, seen.query) == ("POST", "/v1/messages", {}), f"{seen.method} {seen.path}"
    assert seen.headers.get("x-api-key") == API_KEY, "missing or wrong x-api-key"
    assert seen.headers.get("anthropic-version") in VERSIONS, "missing anthropic-version"
    assert seen.headers.get("content-type") == "application/json"
    body = seen.json()
    assert isinstance(body.get("max_tokens"), int), "max_tokens is required"
    assert body.get("model") and body.get("messages"), "model and messages are required"
    assert all(message["role"] in ("user", "assistant") for message in body["messages"])
    return body


def anthropic_twin(answer: dict[str, Any], stream_events: list[dict[str, Any]]) -> RecordingServer:
    """A twin that answers `answer` as JSON, or `stream_events` as SSE when the call streams."""
    def respond(seen: Recorded) -> Reply:
        body = check_messages_request(seen)
        if body.get("stream"):
            return Reply.stream(sse(stream_events))
        return Reply.json(200, answer)
    return RecordingServer(respond)


def error_twin(status: int, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> RecordingServer:
    """A twin that answers every call with an Anthropic error body."""
    def respond(seen: Recorded) -> Reply:
        check_messages_request(seen)
        return Reply.json(status, body, headers)
    return RecordingServer(respond)



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
    def respond(seen: Recorded) -> Reply:
        body = check_messages_request(seen)
        tools = bool(body.get("tools"))
        if body.get("stream"):
            return Reply.stream(sse(gateway_events(tools=tools)))
        return Reply.json(200, gateway_answer(tools=tools))

    with RecordingServer(respond) as twin:
        yield GatewayUpstream(
            server=twin, provider="anthropic", provider_model=GATEWAY_MODEL, api_base=twin.url, api_key=API_KEY,
            paths={"chat": "/v1/messages", "stream": "/v1/messages"}, auth=("x-api-key", API_KEY),
            text="Hello from Anthropic.", stream_text="Hello from Anthropic.", tool_arguments={"city": "Paris"})
    assert twin.failures == []
