"""A fake Ollama server speaking the native API: `/api/chat` (NDJSON or one object) and `/api/embed`."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from apps.core import jsonutil
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

MODEL = "llama3.2"
CREATED = "2025-07-07T20:22:19.184789Z"


def respond(request: Recorded) -> Reply:
    """Answer one request as Ollama would (404 for unknown models, errors as `{"error": ...}`)."""
    body = request.json()
    if body.get("model") != MODEL:
        return Reply.json(404, {"error": f"model \"{body.get('model')}\" not found, try pulling it first"})
    if request.path == "/api/embed":
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return Reply.json(200, {"model": MODEL, "embeddings": [[0.25, float(i)] for i in range(len(inputs))],
                                "prompt_eval_count": 3 * len(inputs)})
    if request.path != "/api/chat":
        return Reply.json(404, {"error": "404 page not found"})
    wants_tool = bool(body.get("tools"))
    if body.get("stream") is False:
        return Reply.json(200, final_line(content="Hello from Ollama.", tool=wants_tool))
    lines = [{"model": MODEL, "created_at": CREATED, "message": {"role": "assistant", "content": word}, "done": False}
             for word in ("Hello", " there")]
    pieces = [jsonutil.dumps(line) + b"\n" for line in [*lines, final_line(content="", tool=wants_tool)]]
    return Reply.stream(pieces, "application/x-ndjson")


def final_line(*, content: str, tool: bool) -> dict[str, object]:
    message: dict[str, object] = {"role": "assistant", "content": content}
    if tool:
        message["tool_calls"] = [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    return {"model": MODEL, "created_at": CREATED, "message": message, "done": True, "done_reason": "stop",
            "total_duration": 1000, "prompt_eval_count": 20, "eval_count": 5}


def server() -> RecordingServer:
    return RecordingServer(respond)


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """An Ollama server mock deployable through the gateway (a key, as ollama.com and proxies take)."""
    with server() as local:
        yield GatewayUpstream(
            server=local, provider="ollama", provider_model=MODEL, api_base=local.url, api_key="ollama-e2e",
            paths={"chat": "/api/chat", "stream": "/api/chat", "embeddings": "/api/embed"},
            auth=("authorization", "Bearer ollama-e2e"), text="Hello from Ollama.", stream_text="Hello there",
            tool_arguments={"city": "Paris"})
