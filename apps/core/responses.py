"""HTTP responses for /v1: JSON via orjson, OpenAI's error shape, and Server-Sent Events."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from apps.core import jsonutil
from apps.core.errors import GatewayError

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"


def set_headers(response: HttpResponseBase, headers: Mapping[str, str]) -> None:
    """`response[name] = value` for each header. A plain ASCII name and value without control characters is
    stored as Django stores it, without Django's per-header conversion (it would accept it unchanged: about 1 us
    a header on every /v1 answer); anything else goes through Django, its MIME encoding and its refusal."""
    store = response.headers._store  # type: ignore[attr-defined]  # ResponseHeaders: lower-case name -> (name, value)
    for name, value in headers.items():
        if (type(name) is str and type(value) is str and name.isascii() and value.isascii()
                and name.isprintable() and value.isprintable()):
            store[name.lower()] = (name, value)
        else:
            response[name] = value


def json_response(body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """Serialise with orjson into a JSON response."""
    response = HttpResponse(jsonutil.dumps(body), status=status, content_type="application/json")
    if headers:
        set_headers(response, headers)
    return response


def error_response(error: GatewayError, *, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """OpenAI's `{"error": {...}}` with the error's status and headers (e.g. Retry-After)."""
    return json_response(error.payload(), status=error.status, headers={**error.headers, **(headers or {})})


def sse_event(payload: Any) -> bytes:
    """One `data: {...}` event."""
    return b"data: " + jsonutil.dumps(payload) + b"\n\n"


def sse_response(events: AsyncIterator[bytes], *, headers: Mapping[str, str] | None = None) -> StreamingHttpResponse:
    """Stream events as they are produced; proxies are told not to buffer."""
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    set_headers(response, {**SSE_HEADERS, **(headers or {})})
    return response
