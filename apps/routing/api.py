"""The OpenAI-compatible endpoints, served at /v1/... and at the bare paths LiteLLM also serves."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from apps.core.http import read_body, request_id
from apps.core.responses import json_response, sse_response
from apps.routing import calls
from apps.routing.catalog import model_card, model_list
from apps.routing.deployment_paths import named_in_path
from apps.routing.headers import served_headers
from apps.routing.media_api import MEDIA_DEPLOYMENT_ROUTES, MEDIA_ROUTES
from apps.routing.more_api import MORE_ROUTES, V2_ROUTES
from apps.routing.client_endpoint import checked_endpoint
from apps.routing.parsing import parse_chat_request, parse_embedding_request
from apps.routing.streaming import sse_events
from apps.teams.auth import authenticate

router = Router(tags=["openai"])
View = Callable[..., Awaitable[HttpResponseBase]]


async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse_chat_request(read_body(request))
    options = await checked_endpoint(principal, options)
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
    options = await checked_endpoint(principal, options)
    served = await calls.embedding(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def deployment_chat_completions(request: HttpRequest, model: str) -> HttpResponseBase:
    """`/openai/deployments/{model}/chat/completions` and `/engines/{model}/chat/completions`."""
    named_in_path(request, model)
    return await chat_completions(request)


async def deployment_embeddings(request: HttpRequest, model: str) -> HttpResponseBase:
    """`/openai/deployments/{model}/embeddings` and `/engines/{model}/embeddings`."""
    named_in_path(request, model)
    return await embeddings(request)


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
    *MORE_ROUTES,
    *MEDIA_ROUTES,
]
# Azure OpenAI's paths (what `openai.AzureOpenAI` calls; `api-version` in the query is accepted and unused).
# LiteLLM also serves `/completions` under them; here text completions are on `/v1/completions` only.
DEPLOYMENT_ROUTES: list[tuple[str, str, View]] = [
    ("/chat/completions", "POST", deployment_chat_completions),
    ("/embeddings", "POST", deployment_embeddings),
    *MEDIA_DEPLOYMENT_ROUTES,
]
for prefix in ("/v1", ""):
    for path, method, view in ROUTES:
        router.add_api_operation(prefix + path, [method], view, include_in_schema=prefix == "/v1")
for path, method, view in V2_ROUTES:
    router.add_api_operation(path, [method], view, include_in_schema=False)
for prefix in ("/openai/deployments", "/engines"):
    for path, method, view in DEPLOYMENT_ROUTES:
        router.add_api_operation(prefix + "/{path:model}" + path, [method], view,
                                 include_in_schema=prefix == "/openai/deployments")
