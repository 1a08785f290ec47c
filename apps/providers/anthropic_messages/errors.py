"""Anthropic's error shape, `{"type": "error", "error": {"type", "message"}}`, for any gateway error."""
from __future__ import annotations

from typing import Any

from apps.core.errors import GatewayError

# Status -> Anthropic error type (docs.anthropic.com/en/api/errors).
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 408: "timeout_error", 413: "request_too_large",
               422: "invalid_request_error", 429: "rate_limit_error", 500: "api_error", 503: "overloaded_error",
               504: "timeout_error", 529: "overloaded_error"}


def error_type(status: int) -> str:
    """The Anthropic error type for an HTTP status."""
    return ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def error_payload(error: GatewayError, *, request_id: str = "") -> dict[str, Any]:
    """The Anthropic-shaped body for `error` (its message as the client would read it on any endpoint)."""
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type(error.status), "message": error.message}}
    if request_id:
        body["request_id"] = request_id
    return body
