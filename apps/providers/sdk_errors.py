"""The SDK's exceptions: each of ours also an instance of the `openai` SDK's class for its status.

Code written against LiteLLM or the openai SDK catches `openai.RateLimitError`, `openai.BadRequestError`,
`openai.APITimeoutError`, ...; code written against Tollgate catches `UpstreamError` or `GatewayError`.
`sdk_error(error)` turns one raised by the adapters or the transport into an exception that is both (its
class inherits the original class and the openai one), with the openai attributes (`status_code`,
`response`, `body`, `code`, `param`, `type`) set. The gateway never raises these; its /v1 errors are unchanged.
"""
from __future__ import annotations

from typing import Any

import httpx
import openai

from apps.core.errors import GatewayError
from apps.providers.base import UpstreamError

# The openai SDK's class for each HTTP status (as its client picks them in `_make_status_error`).
STATUS_CLASSES: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError, 401: openai.AuthenticationError, 403: openai.PermissionDeniedError,
    404: openai.NotFoundError, 409: openai.ConflictError, 422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


class ContextWindowExceededError(openai.BadRequestError):
    """The prompt is longer than the model's context window (LiteLLM's name)."""


class ContentPolicyViolationError(openai.BadRequestError):
    """The provider's content filter refused the request (LiteLLM's name)."""


def openai_class(error: GatewayError) -> type[openai.APIError]:
    """The openai SDK exception class matching an error's status and type."""
    status = error.upstream_status if isinstance(error, UpstreamError) else error.status
    kind = error.error_type if isinstance(error, UpstreamError) else error.type
    if kind == "timeout" or status == 408:
        return openai.APITimeoutError
    if kind == "api_connection_error":
        return openai.APIConnectionError
    if error.error_code == "context_length_exceeded":
        return ContextWindowExceededError
    if error.error_code == "content_policy_violation":
        return ContentPolicyViolationError
    if status >= 500:
        return openai.InternalServerError
    return STATUS_CLASSES.get(status, openai.APIStatusError)


COMBINED: dict[tuple[type[GatewayError], type[openai.APIError]], type[GatewayError]] = {}


def combined_class(ours: type[GatewayError], theirs: type[openai.APIError]) -> type[GatewayError]:
    """A class that is both `ours` and `theirs`, named as the openai one is (one per pair, made once)."""
    combined = COMBINED.get((ours, theirs))
    if combined is None:
        combined = COMBINED.setdefault((ours, theirs), type(theirs.__name__, (ours, theirs), {"__module__": __name__}))
    return combined


def sdk_error(error: GatewayError, *, url: str) -> GatewayError:
    """`error` re-made as an instance of its class combined with the matching openai class.

    `url` is where the call went (no query, so no key): openai's `request` and `response` name it.
    """
    theirs = openai_class(error)
    instance: GatewayError = Exception.__new__(combined_class(type(error), theirs))
    Exception.__init__(instance, error.message)
    body = error.payload()["error"]
    status = error.upstream_status if isinstance(error, UpstreamError) else error.status
    request = httpx.Request("POST", url)
    response = httpx.Response(status, headers=error.headers, json={"error": body}, request=request)
    openai_fields: dict[str, Any] = {
        "request": request, "body": body, "code": body.get("code"), "param": body.get("param"),
        "type": body.get("type")}
    if issubclass(theirs, openai.APIStatusError):
        openai_fields.update(response=response, status_code=status, request_id=None)
    vars(instance).update({**vars(error), **openai_fields})
    instance.__traceback__ = error.__traceback__
    return instance
