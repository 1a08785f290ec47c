"""Budget durations (`30s`, `30m`, `1h`, `1d`, `7d`, `30d`, `1mo`, and the words `hourly`, `daily`, `weekly`,
`monthly`, `yearly` that LiteLLM's budget manager takes) and the reset times they give.

Seconds, minutes, hours, days and weeks are fixed lengths of time. `mo` is a calendar month: a window
created on any day resets on the first of the next month at 00:00 UTC (then every N months), so
"monthly" never drifts into "every 30 days".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DURATION = re.compile(r"^\s*(\d{1,6})\s*(s|m|h|d|w|mo)\s*$")
FIXED_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONGEST_YEARS = 100
LONGEST_SECONDS = LONGEST_YEARS * 366 * 86400
MONTH_SECONDS = 61 * 86400 // 2  # 1200mo (100 years) is the longest
NAMED = {"hourly": (1, "h"), "daily": (1, "d"), "weekly": (1, "w"), "monthly": (1, "mo"), "yearly": (12, "mo")}


class InvalidDuration(ValueError):
    """The text is not a budget duration."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration: `amount` of `unit` (s, m, h, d, w or mo)."""

    amount: int
    unit: str

    @property
    def seconds(self) -> int | None:
        """Length in seconds, or None for calendar months."""
        per_unit = FIXED_UNITS.get(self.unit)
        return None if per_unit is None else per_unit * self.amount

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    """`"30d"` -> Duration(30, "d"), `"monthly"` -> Duration(1, "mo"); raises InvalidDuration for anything else."""
    named = NAMED.get((text or "").strip().lower())
    if named is not None:
        return Duration(*named)
    match = DURATION.match(text or "")
    if match is None:
        raise InvalidDuration(f"'{text}' is not a duration; use a number and s, m, h, d, w or mo (e.g. 30d, 1mo), "
                              f"or hourly, daily, weekly, monthly, yearly")
    amount = int(match.group(1))
    if amount == 0:
        raise InvalidDuration(f"'{text}' is zero; a duration must be at least 1")
    duration = Duration(amount, match.group(2))
    if (duration.seconds or amount * MONTH_SECONDS) > LONGEST_SECONDS:
        raise InvalidDuration(f"'{text}' is longer than {LONGEST_YEARS} years")  # dates past year 9999 cannot exist
    return duration


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the month's last day."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (next_first - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def add_duration(moment: datetime, duration: Duration) -> datetime:
    """`moment` plus one duration (calendar arithmetic for months)."""
    seconds = duration.seconds
    if seconds is None:
        return add_months(moment, duration.amount)
    return moment + timedelta(seconds=seconds)


def window_start(end: datetime, duration: Duration) -> datetime:
    """When the window that ends at `end` began: one duration earlier (calendar arithmetic for months)."""
    seconds = duration.seconds
    return end - timedelta(seconds=seconds) if seconds is not None else add_months(end, -duration.amount)


def first_reset(now: datetime, duration: Duration) -> datetime:
    """When a window starting now first resets: now + duration, or the 1st of a month for `mo`."""
    if duration.seconds is None:
        month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return add_months(month_start, duration.amount)
    return add_duration(now, duration)


def next_reset(reset_at: datetime, duration: Duration, now: datetime) -> datetime:
    """The first reset boundary after `now`, stepping from `reset_at` by whole durations."""
    if reset_at > now:
        return reset_at
    seconds = duration.seconds
    if seconds is not None:
        steps = int((now - reset_at).total_seconds() // seconds) + 1
        return reset_at + timedelta(seconds=steps * seconds)
    months = (now.year - reset_at.year) * 12 + now.month - reset_at.month
    steps = max(0, months // duration.amount)
    while add_months(reset_at, steps * duration.amount) <= now:
        steps += 1
    return add_months(reset_at, steps * duration.amount)


def duration_problem(text: str) -> str | None:
    """Why `text` is not a duration, or None when it is one (or empty)."""
    try:
        if text:
            parse_duration(text)
    except InvalidDuration as exc:
        return str(exc)
    return None
