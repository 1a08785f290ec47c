"""The proxy-wide budget: one more level in every /v1 call's reserve-then-settle step, master key included.

Its row (ProxyBudget, a singleton) is written from config by `load_config` and editable in the admin; the
hot path reads it as a BudgetScope cached per process under its own snapshot generation.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from apps.core.snapshots import SnapshotCache, snapshot_bump
from apps.teams.durations import first_reset, parse_duration
from apps.teams.snapshot import BudgetScope, budget_scope

if TYPE_CHECKING:  # the models are imported when used: the SDK imports the hot path without Django set up
    from apps.teams.models import ProxyBudget

GENERATION = "proxy_budget"
LABEL = "litellm-proxy-budget"  # LiteLLM keeps its proxy budget under this id


def proxy_ledger(row: ProxyBudget) -> str:
    return f"proxy:{int(row.created_at.timestamp() * 1_000_000)}"  # a recreated row starts a new ledger


def load_proxy_scopes() -> tuple[BudgetScope, ...]:
    """The proxy level, when a proxy budget is set (an empty tuple otherwise, so the miss is cached too)."""
    from apps.teams.models import ProxyBudget

    row = ProxyBudget.objects.filter(pk=ProxyBudget.SINGLETON).first()
    if row is None or row.max_budget is None:
        return ()
    return (budget_scope("proxy", proxy_ledger(row), LABEL, row, limits=False),)


proxy_scopes = SnapshotCache(GENERATION, load_proxy_scopes)


@transaction.atomic
def proxy_budget_set(*, max_budget: Decimal | None, budget_duration: str) -> ProxyBudget:
    """Set (or, with max_budget None, lift) the proxy budget; a new duration starts a new window now."""
    from apps.teams.models import ProxyBudget

    duration = budget_duration.strip()
    if duration:
        parse_duration(duration)  # raises InvalidDuration naming the text
    row = ProxyBudget.objects.select_for_update().filter(pk=ProxyBudget.SINGLETON).first() \
        or ProxyBudget(pk=ProxyBudget.SINGLETON)
    if duration != row.budget_duration or (duration and row.budget_reset_at is None):
        row.budget_reset_at = first_reset(timezone.now(), parse_duration(duration)) if duration else None
    row.max_budget, row.budget_duration = max_budget, duration
    row.save()
    snapshot_bump(GENERATION)
    return row
