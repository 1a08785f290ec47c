"""Top keys rank each key by its spend in its current budget window (against its max_budget), not by the span picked:
spend stored through the real flush and reset by the real budget reset, checked against the spend rows."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from apps.teams.budgets import budgets_reset
from apps.teams.models import SpendLog, VirtualKey
from apps.teams.spend import spend_store
from tests.dashboard.conftest import logged_in
from tests.teams.conftest import Cast, make_key, spend_event


def spent(key: VirtualKey, cost: str, at: datetime, request_id: str) -> None:
    """One call of `key` at `at` stored by the spend flush (its row, and its cost added to the key's spend)."""
    event = replace(spend_event(request_id, key, cost), start_time=at.timestamp(), end_time=at.timestamp())
    assert spend_store([event.encode()]).stored == 1


def rows_since(key: VirtualKey, start: datetime | None) -> Decimal:
    rows = SpendLog.objects.filter(key_id=key.pk, **({"start_time__gte": start} if start else {}))
    return rows.aggregate(total=Sum("cost"))["total"] or Decimal(0)


def windowed_keys(cast: Cast, now: datetime) -> dict[str, tuple[VirtualKey, datetime | None]]:
    """Three keys of team A and where each one's current window began (None: a lifetime budget)."""
    daily, _ = make_key(cast.bob.user, cast.team_a, key_alias="daily", max_budget=Decimal(10), budget_duration="1d")
    VirtualKey.objects.filter(pk=daily.pk).update(budget_reset_at=now - timedelta(hours=6))
    lifetime, _ = make_key(cast.bob.user, cast.team_a, key_alias="lifetime")
    spent(daily, "50", now - timedelta(hours=30), "daily-old")  # the window that ended 6 hours ago
    spent(lifetime, "5", now - timedelta(days=40), "lifetime-old")  # long before any span picked below
    assert budgets_reset(now=now) >= 1  # the beat: daily's spend back to 0, its next window [now-6h, now+18h)
    spent(daily, "3", now - timedelta(hours=1), "daily-1")
    spent(daily, "1.5", now - timedelta(hours=2), "daily-2")
    # An hourly window that ended 90 minutes ago and that no beat has reset: its spend column still holds it.
    stale, _ = make_key(cast.bob.user, cast.team_a, key_alias="stale", max_budget=Decimal(2), budget_duration="1h")
    VirtualKey.objects.filter(pk=stale.pk).update(budget_reset_at=now - timedelta(minutes=90))
    spent(stale, "20", now - timedelta(minutes=120), "stale-old")
    spent(stale, "0.7", now - timedelta(minutes=10), "stale-now")
    return {"daily": (daily, now - timedelta(hours=6)), "lifetime": (lifetime, None),
            "stale": (stale, now - timedelta(minutes=30))}


def test_top_keys_are_ranked_by_spend_in_each_keys_current_window(cast: Cast, staff) -> None:
    now = timezone.now()
    keys = windowed_keys(cast, now)
    assert VirtualKey.objects.get(key_alias="stale").spend == Decimal("20.7")  # what a spend-column ranking shows
    expected = {alias: rows_since(key, start) for alias, (key, start) in keys.items()}
    assert expected == {"daily": Decimal("4.5"), "lifetime": Decimal(5), "stale": Decimal("0.7")}
    span = {"start": str((now - timedelta(days=6)).date()), "end": str(now.date()), "tz": "UTC"}
    page = logged_in(staff).get("/dashboard/", span)
    top = page.context["top_keys"]
    assert [(k.label, k.spend) for k in top[:3]] == [("lifetime", Decimal(5)), ("daily", Decimal("4.5")),
                                                    ("stale", Decimal("0.7"))]
    assert {k.label for k in top[3:]} == {"alice-key", "bob-key", "mallory-key"} and all(k.spend == 0 for k in top[3:])
    daily, stale = top[1], top[2]
    assert (daily.max_budget, daily.percent, daily.resets_at) == (Decimal(10), 45, now + timedelta(hours=18))
    assert (stale.percent, stale.resets_at) == (35, now + timedelta(minutes=30))
    assert top[0].percent is None and top[0].resets_at is None
    assert page.context["charts"]["keys"]["values"][:3] == [5.0, 4.5, 0.7]
    body = page.content.decode()
    assert "current budget window" in body and "$4.5000 / $10.00" in body and "45% of budget" in body


def test_keys_csv_is_the_same_window_ranking_scoped_to_the_viewer(cast: Cast, staff) -> None:
    now = timezone.now()
    keys = windowed_keys(cast, now)
    alice = logged_in(cast.alice.user).get("/dashboard/export/keys.csv", {"tz": "UTC"})
    found = list(csv.DictReader(io.StringIO(alice.content.decode())))
    assert [(r["key"], Decimal(r["window_spend"])) for r in found[:3]] == \
        [(alias, rows_since(*keys[alias])) for alias in ("lifetime", "daily", "stale")]
    assert (found[1]["max_budget"], found[1]["budget_duration"]) == ("10.0000000000", "1d")
    assert datetime.fromisoformat(found[2]["window_resets_at"]) == now + timedelta(minutes=30)
    assert "mallory-key" not in {r["key"] for r in found}
    mallory = logged_in(cast.mallory.user).get("/dashboard/", {"tz": "UTC"})
    assert [k.label for k in mallory.context["top_keys"]] == ["mallory-key"]
