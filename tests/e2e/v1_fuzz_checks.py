"""Schemathesis hooks for the /v1 fuzz (loaded with SCHEMATHESIS_HOOKS): every error is in the documented shape.

OpenAI's spec documents no error responses, so `response_schema_conformance` cannot judge them; this check does:
any 4xx or 5xx is JSON `{"error": {"message", "type", "param", "code"}}` with string message and type, and on
/v1/messages Anthropic's `{"type": "error", "error": {"type", "message"}}`.
"""
from __future__ import annotations

import json
from typing import Any

import schemathesis


def error_problem(path: str, body: Any) -> str | None:
    """What is wrong with an error body, or None when it has the shape its endpoint documents."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "not an object with an 'error' object"
    error = body["error"]
    if path.rstrip("/").endswith(("/messages", "/count_tokens")):
        if body.get("type") != "error" or not isinstance(error.get("type"), str):
            return "not Anthropic's {'type': 'error', 'error': {'type', 'message'}}"
    elif set(body) != {"error"} or set(error) != {"message", "type", "param", "code"}:
        return f"keys {sorted(body)} / {sorted(error)}, not error.message/type/param/code"
    if not isinstance(error.get("message"), str) or not isinstance(error.get("type"), str):
        return "message and type must be strings"
    return None


@schemathesis.check
def error_in_the_documented_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx/5xx answer is an error object in the endpoint's documented shape."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} with a body that is not JSON: {response.content[:200]!r}")
    problem = error_problem(case.path, body)
    if problem is not None:
        raise AssertionError(f"{response.status_code} error body: {problem}: {response.content[:300]!r}")
    return True
