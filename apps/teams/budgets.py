"""Budget window services: reset spend when `budget_reset_at` passes (Celery beat; the hot path also resets lazily)."""
from __future__ import annotations

from datetime import datetime

from decimal import Decimal

from django.db import transaction
from django.db.models import Model, Q, Sum
from django.utils import timezone

from apps.core.snapshots import snapshot_bump
from apps.teams.durations import InvalidDuration, first_reset, next_reset, parse_duration, window_start
from apps.teams.models import (Budget, EndUser, Organization, ProxyBudget, SpendLog, Team, TeamMembership, User,
                               VirtualKey)
from apps.teams.proxy_budget import GENERATION as PROXY_GENERATION
from apps.teams.snapshot import GENERATION, member_duration
from apps.teams.spend_sql import OWNERS


def _due(now: datetime) -> Q:
    return Q(budget_reset_at__lte=now) | Q(budget_reset_at__isnull=True)


def spend_since(row: Model, start: datetime) -> Decimal:
    """What the row's stored spend rows cost since `start` (every row for the proxy-wide budget)."""
    rows = SpendLog.objects.filter(start_time__gte=start)
    for _, model, columns in OWNERS:
        if isinstance(row, model):
            rows = rows.filter(**{column: getattr(row, field) for field, column in columns.items()})
            break
    return rows.order_by().aggregate(total=Sum("cost"))["total"] or Decimal(0)


def window_reset(row: Model, duration_text: str, now: datetime) -> bool:
    """Start the row's next window if its window ended (or its first window); True when it changed.

    The new window's spend is not zero but what was stored since it began: the reset runs on the beat, after the
    window's end, and the calls between the two (flushed into `spend` meanwhile) belong to the new window.
    """
    try:
        duration = parse_duration(duration_text)
    except InvalidDuration:
        return False
    reset_at = row.budget_reset_at  # type: ignore[attr-defined]
    if reset_at is None:
        type(row)._default_manager.filter(pk=row.pk).update(budget_reset_at=first_reset(now, duration))
        return True
    ends = next_reset(reset_at, duration, now)
    carried = spend_since(row, window_start(ends, duration))
    type(row)._default_manager.filter(pk=row.pk).update(spend=carried, budget_reset_at=ends)
    return True


def end_users_reset(budget: Budget, now: datetime) -> bool:
    """Start the budget's next window (or its first): its end users' spend goes back to zero, as LiteLLM's
    reset job does for the end users of a budget whose window ended."""
    try:
        duration = parse_duration(budget.budget_duration)
    except InvalidDuration:
        return False
    if budget.budget_reset_at is None:
        Budget.objects.filter(pk=budget.pk).update(budget_reset_at=first_reset(now, duration))
        return True
    EndUser.objects.filter(budget=budget).update(spend=0)
    Budget.objects.filter(pk=budget.pk).update(budget_reset_at=next_reset(budget.budget_reset_at, duration, now))
    return True


def budgets_reset(*, now: datetime | None = None) -> int:
    """Reset keys, users, teams, team members, organizations, end users and the proxy budget whose window has
    ended."""
    now = now or timezone.now()
    changed = 0
    with transaction.atomic():
        for model in (VirtualKey, User, Team, Organization):
            for row in model._default_manager.select_for_update().exclude(budget_duration="").filter(_due(now)):
                changed += window_reset(row, row.budget_duration, now)
        for model in (VirtualKey, Organization):  # a window taken from the row's Budget (`budget_id`)
            rows = model._default_manager.select_for_update(of=("self",)).select_related("budget").filter(
                budget_duration="").exclude(budget__budget_duration="").filter(budget__isnull=False).filter(_due(now))
            for row in rows:
                changed += window_reset(row, row.budget.budget_duration if row.budget else "", now)
        for proxy in ProxyBudget.objects.select_for_update().exclude(budget_duration="").filter(_due(now)):
            if window_reset(proxy, proxy.budget_duration, now):
                changed += 1
                snapshot_bump(PROXY_GENERATION)
        members = TeamMembership.objects.select_for_update(of=("self",)).select_related("team", "budget").filter(
            Q(budget__budget_duration__gt="") | Q(team__team_member_budget_duration__gt="")
            | Q(team__budget_duration__gt="")).filter(_due(now))
        for member in members:
            changed += window_reset(member, member_duration(member), now)
        for budget in Budget.objects.select_for_update().exclude(budget_duration="").filter(_due(now)):
            changed += end_users_reset(budget, now)
        if changed:
            snapshot_bump(GENERATION)
    return changed
