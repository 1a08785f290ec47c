"""LiteLLM's exception classes as the router's per-error policies name them (`RetryPolicy`, `AllowedFailsPolicy`).

`retry_policy: {RateLimitErrorRetries: 5}` retries a 429 five times; `allowed_fails_policy:
{TimeoutErrorAllowedFails: 2}` cools a deployment down at its third timeout within a minute.
"""
from __future__ import annotations

from apps.providers.base import UpstreamError

BAD_REQUEST_STATUSES = frozenset({400, 413, 422})


def error_kind(error: UpstreamError) -> str | None:
    """The LiteLLM exception class (one of policy.ERROR_KINDS) an upstream failure maps to, or None."""
    status = error.upstream_status
    if error.is_content_policy:
        return "ContentPolicyViolationError"
    if status == 408 or error.error_code == "timeout":
        return "TimeoutError"
    if status == 401:
        return "AuthenticationError"
    if status == 429:
        return "RateLimitError"
    if status >= 500:
        return "InternalServerError"
    return "BadRequestError" if status in BAD_REQUEST_STATUSES else None
