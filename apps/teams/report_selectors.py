"""Spend reads for the reports and activity endpoints: scoped rows, and sums grouped in SQL.

Every read starts from `selectors.spend_logs(caller)`, so a caller sees only the rows it may see.
Days are cut in the window's zone by the database (`TruncDate` with a tzinfo: `AT TIME ZONE` on
PostgreSQL, Django's zone-aware date function on SQLite), so a row counts on exactly one local day.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.teams import selectors, spend_refs
from apps.teams.models import SpendLog
from apps.teams.selectors import Caller
from apps.teams.spend_queries import Window, day_start

# The sums every activity answer reports, computed by the database.
METRICS = {"spend": Sum("cost"), "prompt_tokens": Sum("prompt_tokens"), "completion_tokens": Sum("completion_tokens"),
           "cache_read_input_tokens": Sum("cached_tokens"), "api_requests": Count("id"),
           "successful_requests": Count("id", filter=Q(status="success"))}
LAST_DAYS = 30  # LiteLLM's /global/spend/* views cover the last 30 days


@dataclass(frozen=True, slots=True)
class SpendFilter:
    """What the caller narrowed the rows to (each None or empty means no narrowing)."""

    api_keys: tuple[str, ...] = ()
    user_id: str | None = None
    team_ids: tuple[str, ...] | None = None
    exclude_team_ids: tuple[str, ...] = ()
    request_id: str | None = None
    model: str | None = None
    statuses: tuple[str, ...] = ()
    key_alias: str | None = None
    min_spend: Decimal | None = None
    max_spend: Decimal | None = None


def spend_rows(caller: Caller, window: Window, where: SpendFilter = SpendFilter()) -> QuerySet[SpendLog]:
    """The caller's visible rows in the window, narrowed by `where`, newest first."""
    rows = selectors.spend_logs(caller, start=window.start, end=window.end)
    if where.api_keys:
        rows = rows.filter(key_hash__in=[spend_refs.key_hash_of(k) for k in where.api_keys])
    if where.user_id is not None:
        rows = rows.filter(spend_refs.user_rows(where.user_id))
    if where.team_ids is not None:
        rows = rows.filter(spend_refs.team_rows(where.team_ids))
    if where.exclude_team_ids:
        rows = rows.exclude(spend_refs.team_rows(where.exclude_team_ids))
    if where.request_id is not None:
        rows = rows.filter(request_id=where.request_id)
    if where.model is not None:
        rows = rows.filter(model_alias=where.model)
    if where.statuses:
        rows = rows.filter(status__in=where.statuses)
    if where.key_alias is not None:
        rows = rows.filter(key_id__in=selectors.key_list(caller).filter(key_alias=where.key_alias).values("pk"))
    if where.min_spend is not None:
        rows = rows.filter(cost__gte=where.min_spend)
    if where.max_spend is not None:
        rows = rows.filter(cost__lte=where.max_spend)
    return rows


def with_day(rows: QuerySet[SpendLog], zone: tzinfo) -> QuerySet[Any]:
    """Rows with `day`, their local date in `zone`, and no ordering (so GROUP BY is only what is asked)."""
    return rows.order_by().annotate(day=TruncDate("start_time", tzinfo=zone))


def totals(rows: QuerySet[SpendLog]) -> dict[str, Any]:
    """METRICS over all of `rows` (one SQL aggregate)."""
    return rows.order_by().aggregate(**METRICS)


def active_days(rows: QuerySet[SpendLog], zone: tzinfo, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """METRICS per local day with any row, newest first: one page of them and how many there are."""
    days = with_day(rows, zone).values("day").annotate(**METRICS).order_by("-day")
    return list(days[offset:offset + limit]), days.count()


def day_groups(rows: QuerySet[SpendLog], zone: tzinfo, days: Sequence[date],
               columns: Sequence[str]) -> list[dict[str, Any]]:
    """METRICS per local day and `columns`, for the days given (rows read by their UTC bounds)."""
    if not days:
        return []
    inside = within_days(rows, zone, days)
    return list(with_day(inside, zone).values("day", *columns).annotate(**METRICS).order_by("day", *columns))


def within_days(rows: QuerySet[SpendLog], zone: tzinfo, days: Sequence[date]) -> QuerySet[SpendLog]:
    """The rows from the first to the last of these local days (by UTC bounds, so an index serves it)."""
    return rows.filter(start_time__gte=day_start(min(days), zone),
                       start_time__lt=day_start(max(days) + timedelta(days=1), zone))


def spend_by(rows: QuerySet[SpendLog], columns: Sequence[str], *, limit: int | None = None) -> list[dict[str, Any]]:
    """Spend and tokens per `columns`, highest spend first."""
    grouped = (rows.order_by().values(*columns).annotate(total_spend=Sum("cost"), prompt=Sum("prompt_tokens"),
                                                         completion=Sum("completion_tokens"), requests=Count("id"))
               .order_by("-total_spend", *columns))
    return list(grouped[:limit] if limit is not None else grouped)


def last_days_window(zone: tzinfo = UTC) -> Window:
    """From the start of the day LAST_DAYS days ago (UTC, as LiteLLM's views) to now."""
    today = timezone.now().astimezone(zone).date()
    return Window(start=day_start(today - timedelta(days=LAST_DAYS), zone), end=None, zone=zone)
