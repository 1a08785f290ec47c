"""Query strings of the spend and activity endpoints (LiteLLM's parameter names), parsed into a time window.

A date alone (`2026-03-05`) names a whole day in the caller's time zone, so an end date is included;
a date with a time is an instant (UTC unless it names its offset), and an end instant is excluded.
`timezone` is LiteLLM's minutes behind UTC (JavaScript's `getTimezoneOffset()`, 480 for PST) or an
IANA name (`Europe/Berlin`); days are cut there, UTC by default.
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.teams.serializers.fields import page_number

MAX_OFFSET_MINUTES = 18 * 60  # the widest UTC offset there is (datetime.timezone's bound is a day)
MAX_DAYS = 3660  # ten years: answers that list every day of a range (the /spend/logs summary) stay small
YEARS = range(1970, 9000)  # spend rows have none outside; day arithmetic near year 9999 overflows


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end) and the zone its days are cut in; None is unbounded."""

    start: datetime | None
    end: datetime | None
    zone: tzinfo

    def days(self) -> list[date]:
        """Every local date the window touches, oldest first (empty when unbounded)."""
        if self.start is None or self.end is None:
            return []
        first = self.start.astimezone(self.zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_start(day: date, zone: tzinfo) -> datetime:
    """The UTC instant a local day starts at."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def zone_from(value: Any) -> tzinfo:
    """`timezone` as LiteLLM sends it (minutes behind UTC) or an IANA name."""
    text = str(value).strip()
    if re.fullmatch(r"[+-]?[0-9]{1,6}", text):  # ASCII digits: str.isdigit() also takes '²', which int() refuses
        minutes = int(text)
        if abs(minutes) > MAX_OFFSET_MINUTES:
            raise serializers.ValidationError(f"An offset of at most {MAX_OFFSET_MINUTES} minutes.")
        return UTC if minutes == 0 else timezone(-timedelta(minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise serializers.ValidationError(f"Unknown time zone '{text}'.") from None


@extend_schema_field(OpenApiTypes.STR)  # minutes behind UTC or an IANA name
class ZoneField(serializers.Field):  # type: ignore[type-arg]
    def to_internal_value(self, data: Any) -> tzinfo:
        return zone_from(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field(OpenApiTypes.STR)
class DayOrMoment(serializers.Field):  # type: ignore[type-arg]
    """`YYYY-MM-DD` (a date) or an ISO 8601 / `YYYY-MM-DD HH:MM:SS` instant (an aware datetime)."""

    def to_internal_value(self, data: Any) -> date | datetime:
        text = str(data).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError("Use 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'.") from None
        if moment.year not in YEARS:
            raise serializers.ValidationError(f"A year from {YEARS.start} to {YEARS.stop - 1}.")
        if len(text) == 10:
            return moment.date()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def to_representation(self, value: Any) -> str:
        return str(value)


def window_from(query: dict[str, Any]) -> Window:
    """The validated query's start_date/end_date/timezone as a Window."""
    zone: tzinfo = query.get("timezone") or UTC
    start, end = query.get("start_date"), query.get("end_date")
    if isinstance(start, date) and not isinstance(start, datetime):
        start = day_start(start, zone)
    if isinstance(end, date) and not isinstance(end, datetime):
        end = day_start(end + timedelta(days=1), zone)
    return Window(start=start, end=end, zone=zone)


def split_ids(value: str | None) -> tuple[str, ...] | None:
    """LiteLLM's comma-separated id lists (`team_ids=a,b`); None when not given."""
    if value is None:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


class WindowQuery(serializers.Serializer):  # type: ignore[type-arg]
    start_date = DayOrMoment(required=False)
    end_date = DayOrMoment(required=False)
    timezone = ZoneField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        window = window_from(attrs)
        if window.start is not None and window.end is not None and window.end <= window.start:
            raise serializers.ValidationError({"end_date": ["end_date is before start_date."]})
        if window.start is not None and window.end is not None and window.end - window.start > timedelta(MAX_DAYS):
            raise serializers.ValidationError({"end_date": [f"A range of at most {MAX_DAYS} days."]})
        return {**attrs, "window": window}


class BoundedWindowQuery(WindowQuery):
    """LiteLLM answers 400 "Please provide start_date and end_date" on these endpoints."""

    start_date = DayOrMoment()
    end_date = DayOrMoment()


class SpendLogsQuery(WindowQuery):
    """/spend/logs: with both dates and `summarize` (LiteLLM's default) spend per day, else the rows."""

    api_key = serializers.CharField(required=False)
    user_id = serializers.CharField(required=False)
    team_id = serializers.CharField(required=False)
    request_id = serializers.CharField(required=False)
    summarize = serializers.BooleanField(required=False, default=True)
    format = serializers.ChoiceField(choices=["json", "csv"], default="json")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=1000)


class SpendLogsPageQuery(BoundedWindowQuery):
    """/spend/logs/v2: the rows, a page at a time, with LiteLLM's filters."""

    api_key = serializers.CharField(required=False)
    user_id = serializers.CharField(required=False)
    team_id = serializers.CharField(required=False)
    request_id = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    key_alias = serializers.CharField(required=False)
    status_filter = serializers.CharField(required=False)
    min_spend = serializers.DecimalField(required=False, max_digits=20, decimal_places=10)
    max_spend = serializers.DecimalField(required=False, max_digits=20, decimal_places=10)
    page = page_number(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


class ReportQuery(WindowQuery):
    """/global/spend/report: LiteLLM's groupings (`team`, `api_key`) and filters, and Tollgate's flat ones."""

    group_by = serializers.ChoiceField(choices=["team", "api_key", "key", "model", "user", "day"], default="team")
    api_key = serializers.CharField(required=False)
    internal_user_id = serializers.CharField(required=False)
    team_id = serializers.CharField(required=False)
    format = serializers.ChoiceField(choices=["json", "csv"], default="json")


class ActivityQuery(BoundedWindowQuery):
    """/user/daily/activity, /team/daily/activity and /tag/daily/activity."""

    model = serializers.CharField(required=False)
    api_key = serializers.CharField(required=False)
    page = page_number(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=50)


class TeamActivityQuery(ActivityQuery):
    team_ids = serializers.CharField(required=False)
    exclude_team_ids = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=10)


class TagActivityQuery(ActivityQuery):
    tags = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=10)


class TopQuery(serializers.Serializer):  # type: ignore[type-arg]
    """/global/spend/keys and /global/spend/models: the top `limit` by spend in the last 30 days."""

    limit = serializers.IntegerField(required=False, min_value=1, max_value=10_000)


class KeyQuery(serializers.Serializer):  # type: ignore[type-arg]
    """/global/spend/logs: spend per day in the last 30 days, of one key when `api_key` is given."""

    api_key = serializers.CharField(required=False)


class TagsQuery(BoundedWindowQuery):
    """/global/spend/tags: `tags=a,b` (or `all-tags`) between two dates."""

    tags = serializers.CharField(required=False)
