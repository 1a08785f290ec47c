"""Metrics of settled calls: attempts, tokens and spend by deployment, and calls and spend by key."""
from __future__ import annotations

from collections.abc import Sequence
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


def record_events(key: KeyRecord | None, events: Sequence[SpendEvent]) -> None:
    """One settled call: every attempt (failed ones too) counted, tokens and spend added."""
    label = key_label(key)
    inc = REGISTRY.inc
    for event in events:
        inc("tollgate_llm_calls_total", (event.model_alias, event.deployment_id, event.provider, event.call_type,
                                         event.status, event.error_type))
        if event.prompt_tokens:
            inc("tollgate_llm_tokens_total", (event.deployment_id, "prompt"), event.prompt_tokens)
        if event.completion_tokens:
            inc("tollgate_llm_tokens_total", (event.deployment_id, "completion"), event.completion_tokens)
        if event.cost_nanos:
            inc("tollgate_spend_usd_total", (event.deployment_id,), event.cost_nanos / NANOS_PER_USD)
            inc("tollgate_key_spend_usd_total", (label,), event.cost_nanos / NANOS_PER_USD)
    if events:
        inc("tollgate_key_calls_total", (label, events[-1].status))
