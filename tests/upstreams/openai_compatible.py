"""A fake OpenAI-compatible server (vLLM, Mistral, Groq, ...): Bearer auth, `/chat/completions` under a base path.

With `usage_on_last_chunk` it streams like Mistral/Together (usage on the finishing chunk, no usage-only chunk).
"""
from __future__ import annotations

from apps.core import jsonutil
from tests.upstreams.local_http import LocalServer, Recorded, Reply, Responder, json_reply

API_KEY = "preset-key"
USAGE = {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8}


def responder(*, base_path: str, usage_on_last_chunk: bool) -> Responder:
    def respond(request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return json_reply(401, {"error": {"message": "Invalid API Key", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        if request.path != f"{base_path}/chat/completions":
            return json_reply(404, {"error": {"message": f"no route {request.path}"}})
        if not request.body.get("stream"):
            return json_reply(200, {"id": "c1", "object": "chat.completion", "created": 1, "model": request.body["model"],
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                                 "finish_reason": "stop"}], "usage": USAGE})
        return Reply(status=200, pieces=stream_events(request.body["model"], usage_on_last_chunk),
                     headers={"Content-Type": "text/event-stream"})
    return respond


def stream_events(model: str, usage_on_last_chunk: bool) -> list[bytes]:
    def chunk(choices: list[dict[str, object]], **extra: object) -> dict[str, object]:
        return {"id": "c2", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": choices, **extra}

    events = [chunk([{"index": 0, "delta": {"role": "assistant", "content": "o"}, "finish_reason": None}]),
              chunk([{"index": 0, "delta": {"content": "k"}, "finish_reason": "stop"}],
                    **({"usage": USAGE} if usage_on_last_chunk else {}))]
    if not usage_on_last_chunk:
        events.append(chunk([], usage=USAGE))
    return [b"data: " + jsonutil.dumps(event) + b"\n\n" for event in events] + [b"data: [DONE]\n\n"]


def server(*, base_path: str = "/v1", usage_on_last_chunk: bool = False) -> LocalServer:
    return LocalServer(responder(base_path=base_path, usage_on_last_chunk=usage_on_last_chunk))
