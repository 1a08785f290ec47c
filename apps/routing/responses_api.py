"""OpenAI's Responses API at /v1/responses (also /responses and /openai/v1/responses, as LiteLLM serves it)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from apps.core.http import read_body, request_id
from apps.core.responses import json_response, sse_response
from apps.routing.client_endpoint import checked_endpoint
from apps.routing.headers import served_headers
from apps.routing.responses_calls import responses_create, responses_stream
from apps.routing.responses_manage import (
    response_cancel,
    response_delete,
    response_input_items,
    response_retrieve,
)
from apps.routing.responses_parsing import page_params, parse_responses_request
from apps.teams.auth import authenticate

router = Router(tags=["responses"])
View = Callable[..., Awaitable[HttpResponseBase]]
PREFIXES = ("/v1", "", "/openai/v1")


async def create(request: HttpRequest) -> HttpResponseBase:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call = parse_responses_request(read_body(request))
    call = replace(call, options=await checked_endpoint(principal, call.options))
    if call.stream:
        stream = await responses_stream(principal, call, request_id=rid)
        return sse_response(stream.value.events(), headers=served_headers(rid, stream))
    served = await responses_create(principal, call, request_id=rid)
    return json_response(served.value, headers=served_headers(rid, served))


async def retrieve(request: HttpRequest, response_id: str) -> HttpResponse:
    principal = await authenticate(request.META)
    body = await response_retrieve(principal, response_id)
    return json_response(body, headers={"x-request-id": request_id(request)})


async def delete(request: HttpRequest, response_id: str) -> HttpResponse:
    principal = await authenticate(request.META)
    body = await response_delete(principal, response_id)
    return json_response(body, headers={"x-request-id": request_id(request)})


async def input_items(request: HttpRequest, response_id: str) -> HttpResponse:
    principal = await authenticate(request.META)
    limit, order, after = page_params(request.GET.dict())
    body = await response_input_items(principal, response_id, limit=limit, order=order, after=after)
    return json_response(body, headers={"x-request-id": request_id(request)})


async def cancel(request: HttpRequest, response_id: str) -> HttpResponse:
    principal = await authenticate(request.META)
    body = await response_cancel(principal, response_id)
    return json_response(body, headers={"x-request-id": request_id(request)})


ROUTES: list[tuple[str, str, View]] = [
    ("/responses", "POST", create),
    ("/responses/{response_id}", "GET", retrieve),
    ("/responses/{response_id}", "DELETE", delete),
    ("/responses/{response_id}/input_items", "GET", input_items),
    ("/responses/{response_id}/cancel", "POST", cancel),
]
for prefix in PREFIXES:
    for path, method, view in ROUTES:
        router.add_api_operation(prefix + path, [method], view, include_in_schema=prefix == "/v1")
