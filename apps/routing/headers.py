"""The response headers every routed /v1 answer carries."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from apps.routing.router import Served

# Printable ASCII but `%`: a header value is sent as it is when it holds only these.
HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_value(text: str) -> str:
    """`text` as a valid header value: a client's model name may hold control characters, line breaks or
    non-ASCII letters (a wildcard group serves any name), which the server would refuse to send, dropping the
    answer; those are percent-encoded as UTF-8, the rest kept."""
    if text.isascii() and text.isprintable() and "%" not in text:
        return text
    return quote(text.encode("utf-8", "surrogatepass"), safe=HEADER_SAFE)


def served_headers(rid: str, served: Served[Any]) -> dict[str, str]:
    """Which deployment answered, in LiteLLM's header names and ours."""
    return {"x-request-id": rid, "x-litellm-model-id": header_value(served.deployment.public_id),
            "x-tollgate-deployment": served.deployment.id,
            "x-litellm-attempted-fallbacks": str(served.fallback_depth),
            "x-litellm-model-group": header_value(served.model_group or served.deployment.model_name),
            "x-tollgate-attempts": str(served.attempts)}
