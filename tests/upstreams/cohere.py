"""A mock Cohere v2 API (`/v2/chat`, `/v2/embed`, `/v2/rerank`) speaking its real wire format over HTTP.

It checks `Authorization: Bearer`, answers chat as JSON or (with `"stream": true`) as SSE with
`event:` lines and typed JSON data, and records every request.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "co-wire-test"
USAGE = {"billed_units": {"input_tokens": 9, "output_tokens": 4}, "tokens": {"input_tokens": 80, "output_tokens": 4}}


def event(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


class CohereUpstream(RecordingServer):
    """Use as `with CohereUpstream() as upstream:`; point `Target.api_base` at `upstream.url`."""

    def __init__(self) -> None:
        super().__init__(self.respond)

    def respond(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply.json(401, {"id": "err-auth", "message": "invalid api token"})
        if request.headers.get("content-type") != "application/json":
            return Reply.json(400, {"id": "err-ct", "message": "invalid request: content-type must be JSON"})
        body = request.json()
        if request.path == "/v2/chat":
            return self.chat(body)
        if request.path == "/v2/embed":
            vectors = [[0.5, float(i)] for i, _ in enumerate(body["texts"])]
            return Reply.json(200, {"id": "emb-1", "embeddings": {"float": vectors}, "texts": body["texts"],
                                    "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3}},
                                    "response_type": "embeddings_by_type"})
        if request.path == "/v2/rerank":
            order = sorted(range(len(body["documents"])), key=lambda i: -len(body["documents"][i]))
            results = [{"index": i, "relevance_score": round(1 / (rank + 1), 3)} for rank, i in enumerate(order)]
            return Reply.json(200, {"id": "rr-1", "results": results[:body.get("top_n") or len(results)],
                                    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}})
        return Reply.json(404, {"message": f"path {request.path} not found"})

    def chat(self, body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        if last.get("content") == "please rate limit":
            return Reply.json(429, {"id": "err-rl", "message": "You are using a Trial key, which is limited to 10 API "
                                    "calls / minute."}, headers={"Retry-After": "6"})
        calls = "tools" in body and last["role"] != "tool"
        if body.get("stream"):
            return self.stream(calls)
        message: dict[str, Any] = {"role": "assistant"}
        if calls:
            message |= {"tool_plan": "I will check.", "tool_calls": [
                {"id": "get_weather_w1", "type": "function", "function": {"name": "get_weather",
                                                                          "arguments": "{\"city\":\"Paris\"}"}}]}
        else:
            message["content"] = [{"type": "text", "text": f"echo: {last.get('content')}"}]
        return Reply.json(200, {"id": "chat-1", "finish_reason": "TOOL_CALL" if calls else "COMPLETE",
                                "message": message, "usage": USAGE})

    def stream(self, calls: bool) -> Reply:
        events = [event("message-start", id="chat-s", delta={"message": {"role": "assistant", "content": [],
                                                                          "tool_plan": "", "tool_calls": []}})]
        if calls:
            events += [event("tool-call-start", index=0, delta={"message": {"tool_calls": {
                           "id": "get_weather_w1", "type": "function",
                           "function": {"name": "get_weather", "arguments": ""}}}}),
                       *[event("tool-call-delta", index=0, delta={"message": {"tool_calls": {"function": {
                           "arguments": piece}}}}) for piece in ("{\"ci", "ty\": \"Par", "is\"}")],
                       event("tool-call-end", index=0)]
        else:
            events += [event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}}),
                       *[event("content-delta", index=0, delta={"message": {"content": {"text": piece}}})
                         for piece in ("Hel", "lo")],
                       event("content-end", index=0)]
        events.append(event("message-end", delta={"finish_reason": "TOOL_CALL" if calls else "COMPLETE",
                                                  "usage": USAGE}))
        return Reply.stream(events)


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A Cohere v2 mock deployable through the gateway."""
    with CohereUpstream() as upstream:
        yield GatewayUpstream(
            server=upstream, provider="cohere", provider_model="command-a-03-2025", api_base=upstream.url,
            api_key=API_KEY,
            paths={"chat": "/v2/chat", "stream": "/v2/chat", "embeddings": "/v2/embed"},
            auth=("authorization", f"Bearer {API_KEY}"), text=f"echo: {PROMPT}", stream_text="Hello",
            tool_arguments={"city": "Paris"}, embedding_model="embed-v4.0")
