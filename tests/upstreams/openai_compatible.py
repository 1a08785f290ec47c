"""A fake OpenAI-compatible server (vLLM, Mistral, Groq, ...): Bearer auth, `/chat/completions` under a base path.

With `usage_on_last_chunk` it streams like Mistral/Together (usage on the finishing chunk, no usage-only chunk).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from apps.core import jsonutil
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply, Responder

API_KEY = "preset-key"
USAGE = {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8}
TOOL_CALL = {"id": "call_c1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}


def responder(*, base_path: str, usage_on_last_chunk: bool) -> Responder:
    def respond(request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply.json(401, {"error": {"message": "Invalid API Key", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        if request.path != f"{base_path}/chat/completions":
            return Reply.json(404, {"error": {"message": f"no route {request.path}"}})
        body = request.json()
        tools = bool(body.get("tools"))
        if not body.get("stream"):
            message = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]} if tools else {
                "role": "assistant", "content": "ok"}
            return Reply.json(200, {"id": "c1", "object": "chat.completion", "created": 1, "model": body["model"],
                                    "choices": [{"index": 0, "message": message,
                                                 "finish_reason": "tool_calls" if tools else "stop"}], "usage": USAGE})
        return Reply.stream(stream_events(body["model"], usage_on_last_chunk, tools=tools))
    return respond


def stream_events(model: str, usage_on_last_chunk: bool, *, tools: bool = False) -> list[bytes]:
    def chunk(choices: list[dict[str, object]], **extra: object) -> dict[str, object]:
        return {"id": "c2", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": choices, **extra}

    if tools:  # the call opens with its id and name, then its arguments arrive in pieces
        opening = {"index": 0, "id": "call_c1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        pieces = [{"index": 0, "function": {"arguments": piece}} for piece in ("{\"ci", "ty\": \"Pa", "ris\"}")]
        deltas: list[dict[str, object]] = [{"tool_calls": [call]} for call in (opening, *pieces)]
    else:
        deltas = [{"role": "assistant", "content": "o"}, {"content": "k"}]
    events = [chunk([{"index": 0, "delta": delta, "finish_reason": None}]) for delta in deltas[:-1]]
    events.append(chunk([{"index": 0, "delta": deltas[-1], "finish_reason": "tool_calls" if tools else "stop"}],
                        **({"usage": USAGE} if usage_on_last_chunk else {})))
    if not usage_on_last_chunk:
        events.append(chunk([], usage=USAGE))
    return [b"data: " + jsonutil.dumps(event) + b"\n\n" for event in events] + [b"data: [DONE]\n\n"]


def server(*, base_path: str = "/v1", usage_on_last_chunk: bool = False) -> RecordingServer:
    return RecordingServer(responder(base_path=base_path, usage_on_last_chunk=usage_on_last_chunk))


@contextmanager
def gateway_upstream(prefix: str = "groq") -> Iterator[GatewayUpstream]:
    """An OpenAI-compatible server under Groq's base path, deployable through the gateway as `prefix`."""
    with server(base_path="/openai/v1") as local:
        yield GatewayUpstream(
            server=local, provider=prefix, provider_model="llama-3.3-70b-versatile", api_base=f"{local.url}/openai/v1",
            api_key=API_KEY,
            paths={"chat": "/openai/v1/chat/completions", "stream": "/openai/v1/chat/completions"},
            auth=("authorization", f"Bearer {API_KEY}"), text="ok", stream_text="ok", tool_arguments={"city": "Paris"})
