"""Anthropic's Messages API at /v1/messages and /v1/messages/count_tokens, with errors in Anthropic's shape."""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from apps.core.errors import GatewayError, InternalError
from apps.core.http import read_body, request_id
from apps.core.responses import json_response, set_headers, sse_response
from apps.providers.anthropic_messages.errors import error_payload
from apps.routing.client_endpoint import checked_endpoint
from apps.routing.headers import served_headers
from apps.routing.messages import messages_count, messages_create, messages_stream
from apps.routing.messages_parsing import parse_count_request, parse_messages_request
from apps.teams.auth import authenticate

router = Router(tags=["anthropic"])
logger = logging.getLogger("tollgate.api")
View = Callable[[HttpRequest], Awaitable[HttpResponseBase]]
CLIENT_HEADERS = {"anthropic-version": "HTTP_ANTHROPIC_VERSION", "anthropic-beta": "HTTP_ANTHROPIC_BETA"}


def anthropic_errors(view: View) -> View:
    """Render every error of `view` in Anthropic's shape (Anthropic's clients read no other)."""
    @functools.wraps(view)
    async def wrapped(request: HttpRequest) -> HttpResponseBase:
        try:
            return await view(request)
        except GatewayError as error:
            failure = error
        except Exception:  # never an HTML page or the body in the log; the traceback goes to the log only
            logger.exception("unhandled error on %s %s", request.method, request.path)
            failure = InternalError("The gateway hit an internal error; the request id is in request-id.")
        rid = request_id(request)
        return json_response(error_payload(failure, request_id=rid), status=failure.status,
                             headers={**failure.headers, "x-request-id": rid, "request-id": rid})
    return wrapped


def client_headers(request: HttpRequest) -> dict[str, str]:
    """The Anthropic headers a pass-through keeps (API version, betas)."""
    return {name: value for name, key in CLIENT_HEADERS.items() if isinstance(value := request.META.get(key), str)}


@anthropic_errors
async def messages(request: HttpRequest) -> HttpResponseBase:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call = parse_messages_request(read_body(request))
    call = replace(call, options=await checked_endpoint(principal, call.options))
    if call.stream:
        stream = await messages_stream(principal, call, headers=client_headers(request), request_id=rid)
        return sse_response(stream.value.events(), headers=served_headers(rid, stream))
    served = await messages_create(principal, call, headers=client_headers(request), request_id=rid)
    response = HttpResponse(served.value.body, content_type="application/json")
    set_headers(response, served_headers(rid, served))
    return response


@anthropic_errors
async def count_tokens(request: HttpRequest) -> HttpResponse:
    principal = await authenticate(request.META)
    counted = await messages_count(principal, parse_count_request(read_body(request)), headers=client_headers(request))
    return json_response({"input_tokens": counted}, headers={"x-request-id": request_id(request)})


router.add_api_operation("/v1/messages", ["POST"], messages)
router.add_api_operation("/v1/messages/count_tokens", ["POST"], count_tokens)
