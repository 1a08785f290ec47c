"""The OpenAI-compatible endpoints, served at /v1/... and at the bare paths LiteLLM also serves."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from apps.core.http import read_body, request_id
from apps.providers.base import ChatCall, EmbeddingCall
from apps.routing import calls
from apps.routing.catalog import model_card, model_list
from apps.routing.parsing import (CallOptions, chat_call_from, embedding_call_from, parse_chat_request,
                                  parse_embedding_request, parse_json_object)
from apps.routing.responses import json_response, sse_response
from apps.routing.router import Served
from apps.routing.streaming import sse_events
from apps.teams.auth import Principal, authenticate

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
    principal = await authenticate(request.META)
    call, options = parse_chat_request(read_body(request))
    return await chat_answer(request, principal, call, options)


async def chat_answer(request: HttpRequest, principal: Principal, call: ChatCall,
                      options: CallOptions) -> HttpResponseBase:
    """Serve a parsed chat call: a stream of events or one JSON answer."""
    rid = request_id(request)
    if call.stream:
        stream = await calls.chat_stream(principal, call, options, request_id=rid)
        return sse_response(sse_events(stream.value, include_usage=call.include_usage),
                            headers=served_headers(rid, stream))
    served = await calls.chat_completion(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def embeddings(request: HttpRequest) -> HttpResponse:
    principal = await authenticate(request.META)
    call, options = parse_embedding_request(read_body(request))
    return await embedding_answer(request, principal, call, options)


async def embedding_answer(request: HttpRequest, principal: Principal, call: EmbeddingCall,
                           options: CallOptions) -> HttpResponse:
    rid = request_id(request)
    served = await calls.embedding(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


def deployment_view(name: str, parse: Callable[[dict[str, Any], str], tuple[Any, CallOptions]],
                    answer: Callable[..., Awaitable[HttpResponseBase]]) -> View:
    """An Azure-style view (`/openai/deployments/{model}/...`): the path names the model group, the body the rest."""

    async def view(request: HttpRequest, model: str) -> HttpResponseBase:
        principal = await authenticate(request.META)
        return await answer(request, principal, *parse(parse_json_object(read_body(request)), model))

    view.__name__ = view.__qualname__ = name
    return view


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
# Azure OpenAI's paths (what `openai.AzureOpenAI` calls; `api-version` in the query is accepted and unused).
# LiteLLM also serves `/completions` under them; the gateway serves no text completions, so neither are they.
DEPLOYMENT_ROUTES: list[tuple[str, str, View]] = [
    ("/chat/completions", "POST", deployment_view("deployment_chat_completions", chat_call_from, chat_answer)),
    ("/embeddings", "POST", deployment_view("deployment_embeddings", embedding_call_from, embedding_answer)),
]
for prefix in ("/v1", ""):
    for path, method, view in ROUTES:
        router.add_api_operation(prefix + path, [method], view, include_in_schema=prefix == "/v1")
for prefix in ("/openai/deployments", "/engines"):
    for path, method, view in DEPLOYMENT_ROUTES:
        router.add_api_operation(prefix + "/{path:model}" + path, [method], view,
                                 include_in_schema=prefix == "/openai/deployments")
