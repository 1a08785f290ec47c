"""The NinjaAPI serving /v1 (and bare OpenAI paths) and the health checks, with one error renderer."""
from __future__ import annotations

import logging

import redis.exceptions
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError

from apps.core.errors import GatewayError, InternalError, InvalidRequest, NotFound, StateUnavailable
from apps.core.http import request_id
from apps.core.responses import error_response
from apps.routing.api import router as openai_router
from apps.routing.health import health_router
from apps.routing.messages_api import router as messages_router
from apps.routing.search_api import router as search_router
from apps.routing.responses_api import router as responses_router

logger = logging.getLogger("tollgate.api")

api = NinjaAPI(title="Tollgate", version="1", docs_url="/docs", openapi_url="/openapi.json", urls_namespace="tollgate")
api.add_router("", openai_router)
api.add_router("", messages_router)
api.add_router("", search_router)
api.add_router("", responses_router)
api.add_router("/health", health_router)


@api.exception_handler(GatewayError)
def gateway_error(request: HttpRequest, error: GatewayError) -> HttpResponse:
    return error_response(error, headers={"x-request-id": request_id(request)})


@api.exception_handler(HttpError)
def ninja_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 404:
        return error_response(NotFound(str(error)), headers={"x-request-id": request_id(request)})
    return error_response(InvalidRequest(str(error)), headers={"x-request-id": request_id(request)})


STATE_RETRY_AFTER = "2"  # seconds: a Redis restart or failover usually takes about this long


@api.exception_handler(redis.exceptions.ConnectionError)
def state_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.warning("state backend unreachable on %s %s: %s", request.method, request.path, error)
    return error_response(StateUnavailable("The gateway's state backend (Redis) is unreachable; retry shortly.",
                                           headers={"Retry-After": STATE_RETRY_AFTER}),
                          headers={"x-request-id": request_id(request)})


@api.exception_handler(Exception)
def unexpected_error(request: HttpRequest, error: Exception) -> HttpResponse:
    # Never an HTML page and never the request body in the log; the traceback goes to the log only.
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(InternalError("The gateway hit an internal error; the request id is in x-request-id."),
                          headers={"x-request-id": request_id(request)})
