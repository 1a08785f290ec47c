"""Top keys by their current budget window: each key's spend since its window began, against its max_budget.

A key's `spend` column is its current window's spend (the spend flush adds every stored row's cost to it, the
budget reset zeroes it when the window ends), so the dearest keys are read down the spend index. A key whose
window has ended but was not reset yet (the beat has not run, or there is no beat) still holds the ended window's
spend there; the gateway already counts such a key from zero (a lazy reset), and so does this: its spend is summed
from its spend rows since the current window began.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from apps.teams.durations import Duration, InvalidDuration, next_reset, parse_duration, window_start
from apps.teams.models import SpendLog, VirtualKey
from gatewaysite.dashboard.viewer import Viewer

TOP = 10
COLUMNS = ("id", "key_alias", "key_name", "spend", "max_budget", "budget_duration", "budget_reset_at")


@dataclass(frozen=True, slots=True)
class KeyWindow:
    """One key's current budget window and what was spent in it."""

    key_id: int
    label: str
    spend: Decimal
    max_budget: Decimal | None
    duration: str  # "" for a lifetime budget
    resets_at: datetime | None  # when the current window ends (None: never)

    @property
    def percent(self) -> int | None:
        """The window's spend as a share of max_budget (may pass 100), None without a budget."""
        if self.max_budget is None:
            return None
        return round(self.spend / self.max_budget * 100) if self.max_budget else 100


def window_bounds(reset_at: datetime, duration: Duration, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the window holding `now`, on the grid of `reset_at` stepped by whole durations."""
    end = next_reset(reset_at, duration, now)
    return window_start(end, duration), end


def ended_duration(key: VirtualKey, now: datetime) -> Duration | None:
    """The key's window length when its stored window has ended (not reset yet), else None."""
    if not key.budget_duration or key.budget_reset_at is None or key.budget_reset_at > now:
        return None
    try:
        return parse_duration(key.budget_duration)
    except InvalidDuration:
        return None  # the gateway treats an unreadable duration as a lifetime budget


def stale_windows(keys: Iterable[VirtualKey], now: datetime) -> list[KeyWindow]:
    """Keys whose stored window ended, each with its spend rows' cost since its current window began."""
    found: list[tuple[VirtualKey, datetime, datetime]] = []
    for key in keys:
        duration = ended_duration(key, now)
        if duration is not None and key.budget_reset_at is not None:
            found.append((key, *window_bounds(key.budget_reset_at, duration, now)))
    by_start: dict[datetime, list[int]] = defaultdict(list)
    for key, start, _ in found:
        by_start[start].append(key.pk)
    spent: dict[int, Decimal] = {}
    for start, ids in by_start.items():  # keys on one grid share a start: one grouped read each
        rows = SpendLog.objects.filter(key_id__in=ids, start_time__gte=start).order_by()
        for key_id, total in rows.values_list("key_id").annotate(total=Sum("cost")).values_list("key_id", "total"):
            spent[int(key_id or 0)] = total or Decimal(0)
    return [window(key, spent.get(key.pk) or Decimal(0), end) for key, _, end in found]


def window(key: VirtualKey, spend: Decimal, resets_at: datetime | None) -> KeyWindow:
    return KeyWindow(key_id=key.pk, label=key.key_alias or key.key_name, spend=spend, max_budget=key.max_budget,
                     duration=key.budget_duration, resets_at=resets_at)


def top_key_windows(viewer: Viewer, *, top: int = TOP, now: datetime | None = None) -> list[KeyWindow]:
    """The `top` keys the viewer may see with the most spend in their current budget window, dearest first."""
    now = now or timezone.now()
    keys = VirtualKey.objects.filter(viewer.team_filter()).only(*COLUMNS)
    fresh = keys.filter(Q(budget_duration="") | Q(budget_reset_at__isnull=True) | Q(budget_reset_at__gt=now))
    found = [window(key, key.spend, key.budget_reset_at if key.budget_duration else None)
             for key in fresh.order_by("-spend", "id")[:top]]
    # Ended windows not reset yet: few while the beat runs (the partial index virtualkey_window_due finds them).
    found += stale_windows(keys.exclude(budget_duration="").filter(budget_reset_at__lte=now), now)
    return sorted(found, key=lambda k: (-k.spend, k.key_id))[:top]
