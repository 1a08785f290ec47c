"""A fake Azure OpenAI resource speaking Azure's wire format (paths, api-version, api-key, content filters)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from apps.core import jsonutil
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "azure-key-test"
TOOL_ARGUMENTS = "{\"city\": \"Paris\"}"
DEPLOYMENT_PATH = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/(?P<operation>chat/completions|embeddings)$")
V1_PATH = re.compile(r"^/openai/v1/(?P<operation>chat/completions|embeddings)$")
SAFE = {"hate": {"filtered": False, "severity": "safe"}, "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}
PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": SAFE}]
BLOCKED = {"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                                "management policy. Please modify your prompt and retry.",
                     "type": None, "param": "prompt", "code": "content_filter", "status": 400,
                     "innererror": {"code": "ResponsibleAIPolicyViolation",
                                    "content_filter_result": {**SAFE, "violence": {"filtered": True,
                                                                                   "severity": "high"}}}}}


def operation_for(request: Recorded) -> str | None:
    """The operation a request path names, if it is a valid Azure path with its required query."""
    match = DEPLOYMENT_PATH.match(request.path)
    if match and request.query.get("api-version"):
        return match["operation"]
    match = V1_PATH.match(request.path)
    return match["operation"] if match else None


def authorised(request: Recorded) -> bool:
    return (request.headers.get("api-key") == API_KEY
            or request.headers.get("authorization", "").startswith("Bearer entra-"))


def respond(request: Recorded) -> Reply:
    """Answer one request as Azure would."""
    if not authorised(request):
        return Reply.json(401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key "
                                          "or wrong API endpoint."}})
    operation = operation_for(request)
    if operation is None:
        return Reply.json(404, {"error": {"code": "404", "message": "Resource not found"}})
    body = request.json()
    if operation == "embeddings":
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = [[0.5, float(index)] for index, _ in enumerate(inputs)]
        return Reply.json(200, {"object": "list", "model": "text-embedding-3-small",
                                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                                "usage": {"prompt_tokens": 4, "total_tokens": 4}})
    if "violent" in jsonutil.dumps(body["messages"]).decode():
        return Reply.json(400, BLOCKED)
    if body.get("tools"):
        return tool_stream_reply() if body.get("stream") else Reply.json(200, tool_completion())
    return stream_reply() if body.get("stream") else Reply.json(200, completion())


def completion() -> dict[str, object]:
    return {"id": "chatcmpl-wire", "object": "chat.completion", "created": 1733000000, "model": "gpt-4o-2024-08-06",
            "prompt_filter_results": PROMPT_FILTER,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "content_filter_results": SAFE,
                         "message": {"role": "assistant", "content": "Hello from Azure."}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}


def tool_completion() -> dict[str, object]:
    call = {"id": "call_wire", "type": "function", "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS}}
    return {**completion(), "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None,
                                         "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}


def chunk(choices: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {"id": "chatcmpl-wire", "object": "chat.completion.chunk", "created": 1733000001,
            "model": "gpt-4o-2024-08-06", "choices": choices, **extra}


def sse(events: list[dict[str, object]]) -> Reply:
    pieces = [b"data: " + jsonutil.dumps(event) + b"\n\n" for event in events] + [b"data: [DONE]\n\n"]
    return Reply.stream(pieces)


def tool_stream_reply() -> Reply:
    """A streamed tool call whose arguments arrive in pieces, as Azure sends them."""
    opening = {"index": 0, "id": "call_wire", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    pieces = [{"index": 0, "function": {"arguments": piece}} for piece in ("{\"ci", "ty\": \"Pa", "ris\"}")]
    return sse([chunk([{"index": 0, "delta": {"role": "assistant", "content": None, "tool_calls": [opening]},
                        "finish_reason": None}]),
                *[chunk([{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}]) for piece in pieces],
                chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
                chunk([], usage={"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16})])


def stream_reply() -> Reply:
    events = [{"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER},
              chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None,
                      "content_filter_results": {}}]),
              chunk([{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None, "content_filter_results": SAFE}]),
              chunk([{"index": 0, "delta": {}, "finish_reason": "stop", "content_filter_results": {}}]),
              chunk([], usage={"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10})]
    return sse(events)


def server() -> RecordingServer:
    return RecordingServer(respond)


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """An Azure OpenAI resource mock deployable through the gateway (deployments `gpt4o-prod`, `emb-prod`)."""
    with server() as local:
        yield GatewayUpstream(
            server=local, provider="azure", provider_model="gpt4o-prod", api_base=local.url, api_key=API_KEY,
            api_version="2024-10-21",
            paths={"chat": "/openai/deployments/gpt4o-prod/chat/completions",
                   "stream": "/openai/deployments/gpt4o-prod/chat/completions",
                   "embeddings": "/openai/deployments/emb-prod/embeddings"},
            auth=("api-key", API_KEY), text="Hello from Azure.", stream_text="Hello",
            tool_arguments={"city": "Paris"}, embedding_model="emb-prod")
