"""The dashboard's time span: whole local days in the viewer's zone, grouped by day, week or month.

`start` and `end` are local dates, both included; `tz` is an IANA name (the browser's, sent by the page) or
LiteLLM's minutes behind UTC. The span becomes a half-open UTC interval [start, end) cut at local midnights,
so a row counts on exactly one local day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.http import QueryDict
from django.utils import timezone
from rest_framework import serializers

from apps.teams.spend_queries import day_start, zone_from

GRAINS = ("day", "week", "month")
DEFAULT_DAYS = 30
MAX_DAYS = 731


class SpanInvalid(ValueError):
    """A query parameter of the dashboard that cannot be read (names it)."""


@dataclass(frozen=True, slots=True)
class Span:
    first_day: date
    last_day: date
    zone: tzinfo
    zone_name: str
    grain: str

    @property
    def start(self) -> datetime:
        return day_start(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return day_start(self.last_day + timedelta(days=1), self.zone)

    def boundaries(self, *, by_period: bool) -> list[datetime]:
        """Where sums over the span are split, in UTC: its ends, and each period's first local midnight when
        summed per period."""
        inner = [day_start(first, self.zone) for first in self.periods()] if by_period else []
        return sorted({self.start, self.end, *(m for m in inner if self.start < m < self.end)})

    def periods(self) -> list[date]:
        """Every period's first local day in the span, oldest first (the x axis, empty periods included)."""
        found: list[date] = []
        day = self.first_day
        while day <= self.last_day:
            first = period_of(day, self.grain)
            if not found or found[-1] != first:
                found.append(first)
            day += timedelta(days=1)
        return found

    def query(self) -> str:
        """The span as a query string (for links to CSV and the other pages)."""
        return f"start={self.first_day}&end={self.last_day}&tz={self.zone_name}&grain={self.grain}"


def period_of(day: date, grain: str) -> date:
    """The first local day of the period (day, ISO week or month) `day` is in."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def parse_day(query: QueryDict, name: str) -> date | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SpanInvalid(f"'{name}' must be a date (YYYY-MM-DD), got '{raw[:40]}'.") from None


def parse_zone(query: QueryDict) -> tuple[tzinfo, str]:
    raw = (query.get("tz") or "UTC").strip() or "UTC"
    try:
        return zone_from(raw), raw
    except serializers.ValidationError:
        raise SpanInvalid(f"'tz' must be an IANA time zone or minutes behind UTC, got '{raw[:60]}'.") from None


def span_from(query: QueryDict, *, now: datetime | None = None) -> Span:
    """The span a dashboard query asks for: by default the last 30 local days, today included, by day."""
    zone, zone_name = parse_zone(query)
    grain = query.get("grain") or "day"
    if grain not in GRAINS:
        raise SpanInvalid(f"'grain' must be one of {', '.join(GRAINS)}, got '{grain[:20]}'.")
    today = (now or timezone.now()).astimezone(zone).date()
    last = parse_day(query, "end") or today
    first = parse_day(query, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise SpanInvalid("'start' must not be after 'end'.")
    if (last - first).days >= MAX_DAYS:
        raise SpanInvalid(f"A span of at most {MAX_DAYS} days.")
    if first.year < 1971 or last.year > 9000:
        raise SpanInvalid("Dates between 1971 and 9000.")
    return Span(first_day=first, last_day=last, zone=zone, zone_name=zone_name, grain=grain)


def utc_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
