"""Metrics of settled calls: attempts, tokens and spend by deployment, and calls and spend by key."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from apps.core.metrics import REGISTRY

if TYPE_CHECKING:
    from apps.teams.metering import SpendEvent
    from apps.teams.snapshot import KeyRecord

NANOS_PER_USD = 1_000_000_000


def key_label(key: KeyRecord | None) -> str:
    """The key as dashboards name it: its alias, else the start of its hash (never the secret); "master" without."""
    if key is None:
        return "master"
    return REGISTRY.bounded_key(key.key_alias or f"hash:{key.token_hash[:12]}")


# The `error` label: a fixed set of kinds, never the upstream's own code (which it may make up), so the series
# cannot grow with what upstreams answer. The first kind whose word is in the attempt's error code wins.
ERROR_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("timeout", ("timeout", "timed_out", "deadline")),
    ("rate_limit", ("rate_limit", "too_many", "quota", "throttl", "overloaded")),
    ("context_window", ("context_length", "context_window", "too_long", "max_tokens")),
    ("content_policy", ("content_policy", "content_filter", "safety", "moderation")),
    ("auth", ("auth", "api_key", "permission", "forbidden", "credential", "unauthorized")),
    ("connection", ("connect", "unreachable", "disconnect", "dns", "network")),
    ("stream", ("stream", "incomplete", "cut")),
    ("not_found", ("not_found", "model_not")),
    ("bad_response", ("malformed", "bad_upstream", "invalid_json", "decode")),
    ("bad_request", ("invalid", "bad_request", "unsupported", "missing", "required", "parameter")),
    ("server_error", ("server", "internal", "unavailable", "api_error", "model_error", "prediction")),
)
ERROR_LABELS = frozenset({"", "refused", "other", *(kind for kind, _ in ERROR_KINDS)})


def error_label(event: SpendEvent) -> str:
    """The attempt's error as one of ERROR_LABELS ("" for a success; a refusal is "refused")."""
    if event.status == "refused":
        return "refused"
    code = event.error_type.lower()
    if not code:
        return ""
    return next((kind for kind, words in ERROR_KINDS if any(word in code for word in words)), "other")


def record_events(key: KeyRecord | None, events: Sequence[SpendEvent], *,
                  groups: Mapping[int, str] | None = None) -> None:
    """One settled call: every attempt (failed ones too) counted, tokens and spend added. `model_group` is the
    configured group each attempt's deployment serves (`groups`, by attempt): "" where none served it."""
    label = key_label(key)
    inc = REGISTRY.inc
    groups = groups or {}
    for event in events:
        inc("tollgate_llm_calls_total", (groups.get(event.attempt, ""), event.deployment_id, event.provider,
                                         event.call_type, event.status, error_label(event)))
        if event.prompt_tokens:
            inc("tollgate_llm_tokens_total", (event.deployment_id, "prompt"), event.prompt_tokens)
        if event.completion_tokens:
            inc("tollgate_llm_tokens_total", (event.deployment_id, "completion"), event.completion_tokens)
        if event.cost_nanos:
            inc("tollgate_spend_usd_total", (event.deployment_id,), event.cost_nanos / NANOS_PER_USD)
            inc("tollgate_key_spend_usd_total", (label,), event.cost_nanos / NANOS_PER_USD)
    if events:
        inc("tollgate_key_calls_total", (label, events[-1].status))
