"""The response headers every routed /v1 answer carries."""
from __future__ import annotations

from typing import Any

from apps.routing.router import Served


def served_headers(rid: str, served: Served[Any]) -> dict[str, str]:
    """Which deployment answered, in LiteLLM's header names and ours."""
    return {"x-request-id": rid, "x-litellm-model-id": served.deployment.public_id,
            "x-tollgate-deployment": served.deployment.id,
            "x-litellm-attempted-fallbacks": str(served.fallback_depth),
            "x-litellm-model-group": served.model_group or served.deployment.model_name,
            "x-tollgate-attempts": str(served.attempts)}
