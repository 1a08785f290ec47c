"""Writes for LiteLLM's budget table and its end users (customers): each atomic, each bumps the key snapshot."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.snapshots import snapshot_bump
from apps.teams.durations import first_reset, parse_duration
from apps.teams.models import Budget, EndUser
from apps.teams.snapshot import GENERATION

BUDGET_COLUMNS = ("max_budget", "soft_budget", "max_parallel_requests", "tpm_limit", "rpm_limit", "model_max_budget",
                  "budget_duration", "budget_reset_at")
END_USER_COLUMNS = ("alias", "blocked", "allowed_model_region", "default_model", "spend")


def budget_apply(budget: Budget, fields: Mapping[str, Any]) -> None:
    """Set budget columns; a new window length starts a new window unless `budget_reset_at` is given."""
    for name in BUDGET_COLUMNS:
        if name in fields:
            setattr(budget, name, fields[name])
    if fields.get("budget_duration") and "budget_reset_at" not in fields:
        budget.budget_reset_at = first_reset(timezone.now(), parse_duration(fields["budget_duration"]))


@transaction.atomic
def budget_new(*, fields: Mapping[str, Any], budget_id: str | None = None, actor: str = "") -> Budget:
    """Create a budget (named `budget_id`, else a UUID)."""
    budget = Budget(budget_id=budget_id) if budget_id else Budget()
    budget.created_by = budget.updated_by = actor
    budget_apply(budget, fields)
    budget.save(force_insert=True)
    snapshot_bump(GENERATION)
    return budget


@transaction.atomic
def budget_update(*, budget: Budget, fields: Mapping[str, Any], actor: str = "") -> Budget:
    """Change a budget's limits."""
    budget = Budget.objects.select_for_update().get(pk=budget.pk)
    budget_apply(budget, fields)
    budget.updated_by = actor
    budget.save()
    snapshot_bump(GENERATION)
    return budget


@transaction.atomic
def budget_delete(*, budget: Budget) -> None:
    """Delete a budget; what pointed at it has no budget row any more."""
    budget.delete()
    snapshot_bump(GENERATION)


@transaction.atomic
def end_user_new(*, user_id: str, fields: Mapping[str, Any], budget: Budget | None = None) -> EndUser:
    """Create an end user, with a budget row of their own or a shared one."""
    end_user = EndUser(user_id=user_id, budget=budget)
    for name in END_USER_COLUMNS:
        if name in fields:
            setattr(end_user, name, fields[name])
    end_user.save(force_insert=True)
    snapshot_bump(GENERATION)
    return end_user


@transaction.atomic
def end_user_update(*, end_user: EndUser, fields: Mapping[str, Any], budget: Budget | None = None,
                    budget_fields: Mapping[str, Any] | None = None) -> EndUser:
    """Change an end user; `budget` swaps their budget row, `budget_fields` change (or create) their own."""
    end_user = EndUser.objects.select_for_update().get(pk=end_user.pk)
    for name in END_USER_COLUMNS:
        if name in fields:
            setattr(end_user, name, fields[name])
    if budget is not None:
        end_user.budget = budget
    elif budget_fields:
        own = end_user.budget or Budget()
        budget_apply(own, budget_fields)
        own.save()
        end_user.budget = own
    end_user.save()
    snapshot_bump(GENERATION)
    return end_user


@transaction.atomic
def end_user_block(*, user_ids: Iterable[str], blocked: bool = True) -> list[str]:
    """Block (or unblock) end users, creating the ones not known yet (LiteLLM does the same)."""
    ids = list(dict.fromkeys(user_ids))
    known = {row.user_id: row for row in EndUser.objects.select_for_update().filter(user_id__in=ids)}
    for user_id in ids:  # saved one by one, not in bulk: each change reaches the audit log
        row = known.get(user_id) or EndUser(user_id=user_id, blocked=not blocked)
        if row.blocked != blocked:
            row.blocked = blocked
            row.save()
    snapshot_bump(GENERATION)
    return ids


@transaction.atomic
def end_user_delete(*, end_users: Iterable[EndUser]) -> list[str]:
    """Delete end users."""
    ids = [e.user_id for e in end_users]
    EndUser.objects.filter(user_id__in=ids).delete()
    snapshot_bump(GENERATION)
    return ids
