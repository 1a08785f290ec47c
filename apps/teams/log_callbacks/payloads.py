"""A stored call as the destinations receive it: one flat, JSON-ready record per upstream attempt.

Field names follow LiteLLM's StandardLoggingPayload where it has one (`id`, `call_type`, `model`,
`model_group`, `status`, `response_cost`, `prompt_tokens`, ...), so a consumer written for LiteLLM's
generic API logger reads it; the key appears only as its hash.
"""
from __future__ import annotations

from typing import Any

from apps.teams.models import SpendLog


def event_id(row: SpendLog) -> str:
    """Stable per attempt: a batch sent again is recognised as the same calls."""
    return f"{row.request_id}-{row.attempt}"


def call_record(row: SpendLog) -> dict[str, Any]:
    return {
        "id": event_id(row), "request_id": row.request_id, "attempt": row.attempt, "call_type": row.call_type,
        "model_group": row.model_alias, "model": row.model_alias, "model_id": row.deployment_id,
        "custom_llm_provider": row.provider, "status": row.status, "error_type": row.error_type,
        "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
        "total_tokens": row.prompt_tokens + row.completion_tokens, "cached_tokens": row.cached_tokens,
        "response_cost": float(row.cost), "latency_ms": row.latency_ms, "ttft_ms": row.ttft_ms,
        "startTime": row.start_time.isoformat(), "endTime": row.end_time.isoformat(),
        "hashed_api_key": row.key_hash, "team_id": row.team_id, "user_id": row.user_id,
        "organization_id": row.organization_id, "end_user": row.end_user, "request_tags": list(row.tags or []),
    }
