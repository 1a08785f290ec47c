"""The /v1 endpoints beyond chat and embeddings: rerank (Cohere's shape), legacy completions and moderations."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from apps.core.http import read_body, request_id
from apps.core.responses import json_response, sse_response
from apps.routing.client_endpoint import checked_endpoint
from apps.routing.headers import served_headers
from apps.routing.completions import parse_completion_request, text_completion, text_completion_stream
from apps.routing.moderations import moderation, parse_moderation_request
from apps.routing.rerank_calls import parse_rerank_request, rerank
from apps.routing.streaming import sse_events
from apps.routing.parsing import CallOptions
from apps.routing.router import Served
from apps.teams.auth import Principal, authenticate

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class HasBody(Protocol):
    @property
    def body(self) -> Any: ...


class Serve(Protocol[C_contra]):
    """A call flow whose result has a JSON `body`: `rerank`, `moderation`."""

    def __call__(self, principal: Principal, call: C_contra, options: CallOptions, *,
                 request_id: str = "") -> Awaitable[Served[HasBody]]: ...


async def served_json(request: HttpRequest, parse: Callable[[bytes], tuple[C, CallOptions]],
                      serve: Serve[C]) -> HttpResponse:
    """Authenticate, parse the body, serve it and answer the result's body as JSON with the routing headers."""
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse(read_body(request))
    served = await serve(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def rerank_view(request: HttpRequest) -> HttpResponse:
    return await served_json(request, parse_rerank_request, rerank)


async def moderations_view(request: HttpRequest) -> HttpResponse:
    return await served_json(request, parse_moderation_request, moderation)


async def completions_view(request: HttpRequest) -> HttpResponseBase:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse_completion_request(read_body(request))
    options = await checked_endpoint(principal, options)
    if call.stream:
        stream = await text_completion_stream(principal, call, options, request_id=rid)
        return sse_response(sse_events(stream.value, include_usage=call.as_chat().include_usage),
                            headers=served_headers(rid, stream))
    served = await text_completion(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


# (path under /v1 and bare, method, view); `/v2/rerank` is Cohere's path, served as well.
MORE_ROUTES = [
    ("/rerank", "POST", rerank_view),
    ("/completions", "POST", completions_view),
    ("/moderations", "POST", moderations_view),
]
V2_ROUTES = [("/v2/rerank", "POST", rerank_view)]
