"""The lean API handler with a server span per request, chosen once at start-up when tracing is on.

Swapping the class instead of testing a flag per call leaves the untraced handler exactly as it was: with
tracing off the /v1 path runs no tracing code at all. Each request's span is named `{method} {route}` by the
route template (HTTP semconv), never the raw path, and carries the status it was answered with.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import ResolverMatch

from apps.core import tracing
from apps.core.asgi_lean import LeanASGIHandler, Scope


def route_template(match: ResolverMatch) -> str:
    route = match.route or ""
    return route if route.startswith("/") else f"/{route}"


def peer(scope: Scope) -> dict[str, Any]:
    """The connection's attributes (HTTP semconv): protocol version, the client's address and port."""
    found: dict[str, Any] = {"network.protocol.version": scope.get("http_version", "1.1")}
    client = scope.get("client")
    if client:
        found["client.address"], found["client.port"] = client[0], client[1]
    return found


class TracedASGIHandler(LeanASGIHandler):
    """`LeanASGIHandler` inside a SERVER span joined to the caller's `traceparent`."""

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        with tracing.server_span(method=scope.get("method", ""), path=scope.get("path", ""),
                                 scheme=scope.get("scheme", "http"),
                                 headers=tracing.header_carrier(scope.get("headers", ())), extra=peer(scope)):
            await super().handle(scope, receive, send)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = super().resolve_request(request)
        from opentelemetry import trace

        span = trace.get_current_span()
        route = route_template(match)
        span.update_name(f"{request.method} {route}")
        span.set_attribute("http.route", route)
        return match

    async def send_response(self, response: HttpResponseBase, send: Any) -> None:
        from opentelemetry import trace

        span = trace.get_current_span()
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:  # HTTP semconv: 4xx are the client's errors, not the server span's
            span.set_attribute("error.type", str(response.status_code))
            span.set_status(trace.StatusCode.ERROR)
        await super().send_response(response, send)


def api_handler() -> LeanASGIHandler:
    """The API handler for this process: traced when tracing was configured before the application was built."""
    return TracedASGIHandler() if tracing.ENABLED else LeanASGIHandler()
