"""LiteLLM's spend logs written as SpendLog rows (one attempt each), in batches, keyed by request id."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from apps.teams.litellm_import.records import LiteLLMSpend
from apps.teams.litellm_import.report import TableReport
from apps.teams.models import SpendLog, VirtualKey

BATCH = 2000
ATTEMPT = 1  # LiteLLM logs a call once, whatever it retried


def _millis(seconds: float) -> int:
    return max(int(round(seconds * 1000)), 0)


def spend_fields(spend: LiteLLMSpend, key_ids: dict[str, int]) -> dict[str, Any]:
    """The SpendLog columns of one LiteLLM spend row."""
    ttft = spend.first_token_time
    return {
        "key_id": key_ids.get(spend.key_hash), "key_hash": spend.key_hash, "team_id": spend.team_id,
        "user_id": spend.user_id, "organization_id": spend.organization_id, "end_user": spend.end_user or "",
        "model_alias": spend.model_group[:200], "deployment_id": spend.model_id[:100], "provider": spend.provider[:50],
        "call_type": spend.call_type, "prompt_tokens": spend.prompt_tokens,
        "completion_tokens": spend.completion_tokens, "cached_tokens": spend.cached_tokens, "cost": spend.cost,
        "latency_ms": _millis((spend.end_time - spend.start_time).total_seconds()),
        "ttft_ms": None if ttft is None or ttft < spend.start_time else _millis((ttft - spend.start_time).total_seconds()),
        "status": spend.status, "error_type": spend.error_type, "start_time": spend.start_time,
        "end_time": spend.end_time, "tags": list(spend.tags)}


def _batches(items: Iterable[LiteLLMSpend]) -> Iterator[list[LiteLLMSpend]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _write_batch(batch: list[LiteLLMSpend], report: TableReport) -> None:
    hashes = {spend.key_hash for spend in batch if spend.key_hash}
    key_ids = dict(VirtualKey.objects.filter(token_hash__in=hashes).values_list("token_hash", "id"))
    existing = {row.request_id: row for row in SpendLog.objects.filter(
        request_id__in=[spend.request_id for spend in batch], attempt=ATTEMPT)}
    new, changed = [], []
    for spend in batch:
        fields = spend_fields(spend, key_ids)
        row = existing.get(spend.request_id)
        if row is None:
            new.append(SpendLog(request_id=spend.request_id, attempt=ATTEMPT, **fields))
            continue
        if any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            changed.append(row)
        else:
            report.count("unchanged")
    SpendLog.objects.bulk_create(new)
    SpendLog.objects.bulk_update(changed, list(spend_fields(batch[0], key_ids)))
    report.created += len(new)
    report.updated += len(changed)


def write_spend_logs(rows: Iterable[LiteLLMSpend], report: TableReport) -> None:
    """Create the spend rows Tollgate lacks and correct the ones that differ."""
    for batch in _batches(rows):
        _write_batch(batch, report)
