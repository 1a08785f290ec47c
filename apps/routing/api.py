"""The OpenAI-compatible endpoints, served at /v1/... and at the bare paths LiteLLM also serves."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from apps.core.http import read_body, request_id
from apps.core.responses import json_response, sse_response
from apps.routing import calls
from apps.routing.catalog import model_card, model_list
from apps.routing.parsing import parse_chat_request, parse_embedding_request
from apps.routing.router import Served
from apps.routing.streaming import sse_events
from apps.teams.auth import authenticate

router = Router(tags=["openai"])
View = Callable[..., Awaitable[HttpResponseBase]]


def served_headers(rid: str, served: Served[Any]) -> dict[str, str]:
    """Which deployment answered, in LiteLLM's header names and ours."""
    return {"x-request-id": rid, "x-litellm-model-id": served.deployment.id,
            "x-tollgate-deployment": served.deployment.id,
            "x-litellm-attempted-fallbacks": str(served.fallback_depth),
            "x-litellm-model-group": served.model_group or served.deployment.model_name,
            "x-tollgate-attempts": str(served.attempts)}


async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse_chat_request(read_body(request))
    if call.stream:
        stream = await calls.chat_stream(principal, call, options, request_id=rid)
        return sse_response(sse_events(stream.value, include_usage=call.include_usage),
                            headers=served_headers(rid, stream))
    served = await calls.chat_completion(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def embeddings(request: HttpRequest) -> HttpResponse:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse_embedding_request(read_body(request))
    served = await calls.embedding(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def list_models(request: HttpRequest) -> HttpResponse:
    principal = await authenticate(request.META)
    return json_response(await model_list(principal), headers={"x-request-id": request_id(request)})


async def retrieve_model(request: HttpRequest, model_id: str) -> HttpResponse:
    principal = await authenticate(request.META)
    return json_response(await model_card(principal, model_id), headers={"x-request-id": request_id(request)})


ROUTES: list[tuple[str, str, View]] = [
    ("/chat/completions", "POST", chat_completions),
    ("/embeddings", "POST", embeddings),
    ("/models", "GET", list_models),
    ("/models/{path:model_id}", "GET", retrieve_model),
]
for prefix in ("/v1", ""):
    for path, method, view in ROUTES:
        router.add_api_operation(prefix + path, [method], view, include_in_schema=prefix == "/v1")
