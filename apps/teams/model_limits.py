"""A key's per-model budgets and rate limits (LiteLLM's `model_max_budget`, `model_rpm_limit`, `model_tpm_limit`).

Each model with a limit becomes one more ledger level of the key, admitted atomically with the others. LiteLLM
accepts a model's budget as `{"budget_limit": 10, "time_period": "1d"}`, as `{"max_budget": 10,
"budget_duration": "1d"}` (either may carry `rpm_limit` / `tpm_limit`) or as a bare number; rate limits come
from the `model_rpm_limit` / `model_tpm_limit` fields, then the key's metadata, then `model_max_budget`, as
LiteLLM's `get_key_model_rpm_limit` looks them up.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.teams.durations import Duration, InvalidDuration, first_reset, parse_duration

LEVEL = "key_model"
TEAM_LEVEL = "team_model"  # a team's model_rpm_limit / model_tpm_limit, shared by its keys


@dataclass(frozen=True, slots=True)
class ModelLimit:
    """One model's budget (dollars) and rate limits on one key."""

    max_budget: Decimal | None = None
    duration: Duration | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None


def _dollars(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def _window(text: object) -> Duration | None:
    try:
        return parse_duration(text) if isinstance(text, str) and text else None
    except InvalidDuration:
        return None


def budget_entry(value: object) -> ModelLimit:
    """One `model_max_budget` value in any of LiteLLM's forms."""
    if not isinstance(value, Mapping):
        return ModelLimit(max_budget=_dollars(value))
    budget = value.get("budget_limit", value.get("max_budget"))
    return ModelLimit(max_budget=_dollars(budget), duration=_window(value.get("time_period",
                                                                              value.get("budget_duration"))),
                      rpm_limit=_count(value.get("rpm_limit")), tpm_limit=_count(value.get("tpm_limit")))


def _rates(*sources: object) -> Mapping[str, Any]:
    """The first non-empty mapping of the sources (LiteLLM's precedence)."""
    for source in sources:
        if isinstance(source, Mapping) and source:
            return source
    return {}


def model_limits(*, model_max_budget: object, model_rpm_limit: object, model_tpm_limit: object,
                 metadata: Mapping[str, Any]) -> dict[str, ModelLimit]:
    """Every model with a budget or a rate limit on this key; {} for a key with none."""
    budgets = model_max_budget if isinstance(model_max_budget, Mapping) else {}
    entries = {str(model): budget_entry(value) for model, value in budgets.items()}
    rpm = _rates(model_rpm_limit, metadata.get("model_rpm_limit"))
    tpm = _rates(model_tpm_limit, metadata.get("model_tpm_limit"))
    limits: dict[str, ModelLimit] = {}
    for model in (*entries, *rpm, *tpm):
        entry = entries.get(model, ModelLimit())
        limit = ModelLimit(max_budget=entry.max_budget, duration=entry.duration,
                           rpm_limit=_count(rpm.get(model)) if model in rpm else entry.rpm_limit,
                           tpm_limit=_count(tpm.get(model)) if model in tpm else entry.tpm_limit)
        if any(v is not None for v in (limit.max_budget, limit.rpm_limit, limit.tpm_limit)):
            limits[model] = limit
    return limits


def window_start(created_at: datetime | None, duration: Duration | None) -> float | None:
    """The end of a model budget's first window (windows are counted from the key's creation)."""
    if duration is None:
        return None
    start = created_at or datetime.now(UTC)
    return first_reset(start, duration).timestamp()


def model_lookup(table: Mapping[str, Any], model: str) -> Any:
    """The entry for `model`, else for the model without its provider prefix (openai/o1 -> o1), as LiteLLM."""
    found = table.get(model)
    if found is None and "/" in model:
        found = table.get(model.rsplit("/", 1)[-1])
    return found
