"""A strict twin of OpenAI's legacy `/v1/completions` (`text_completion` objects, SSE when streamed).

It checks `Authorization: Bearer`, answers 400 in OpenAI's error shape for a chat body (`messages`) or a
field the completions API does not take, and records every request.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "sk-instruct-wire"
MODEL = "gpt-3.5-turbo-instruct"
FIELDS = {"model", "prompt", "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n",
          "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix", "temperature", "top_p", "user"}
ANSWER = " Hello from instruct."
PIECES = (" Hello", " from", " instruct.")


def error(status: int, message: str, *, code: str | None = None, param: str | None = None) -> Reply:
    return Reply.json(status, {"error": {"message": message, "type": "invalid_request_error", "param": param,
                                         "code": code}})


def completion_event(text: str, finish: str | None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if usage else [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]
    body = {"id": "cmpl-wire", "object": "text_completion", "created": 1735689600, "choices": choices, "model": MODEL,
            "usage": usage}
    return f"data: {json.dumps(body)}\n\n".encode()


def respond(request: Recorded) -> Reply:
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return error(401, "Incorrect API key provided.", code="invalid_api_key")
    if request.path != "/v1/completions":
        return error(404, f"Invalid URL (POST {request.path})")
    body: dict[str, Any] = request.json()
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return error(400, f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0])
    if not isinstance(body.get("prompt"), (str, list)):
        return error(400, "you must provide a prompt", param="prompt")
    usage = {"prompt_tokens": max(1, len(str(body["prompt"]).split())), "completion_tokens": len(PIECES),
             "total_tokens": max(1, len(str(body["prompt"]).split())) + len(PIECES)}
    if body.get("stream"):
        events = [completion_event(piece, None) for piece in PIECES] + [completion_event("", "stop")]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(completion_event("", None, usage))
        return Reply.stream([*events, b"data: [DONE]\n\n"])
    return Reply.json(200, {"id": "cmpl-wire", "object": "text_completion", "created": 1735689600, "model": MODEL,
                            "choices": [{"text": ANSWER, "index": 0, "logprobs": None, "finish_reason": "stop"}],
                            "usage": usage})


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """The completions twin, deployable through the gateway as `text-completion-openai`."""
    with RecordingServer(respond) as twin:
        yield GatewayUpstream(server=twin, provider="text-completion-openai", provider_model=MODEL,
                              api_base=f"{twin.url}/v1", paths={"chat": "/v1/completions", "stream": "/v1/completions"},
                              auth=("authorization", f"Bearer {API_KEY}"), text=ANSWER, stream_text="".join(PIECES),
                              tool_arguments={}, api_key=API_KEY)
    assert twin.failures == []
    assert all(seen.json()["prompt"] == PROMPT for seen in twin.requests)
