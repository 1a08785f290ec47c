"""How a span is cut between the roll-up's daily cells, its hourly cells and the raw spend rows.

Groups are split at `boundaries` (the span's ends, and each local period's start when summed per period). Between
two boundaries the whole UTC days come from daily cells and the rest from hourly cells; an hour that a boundary
cuts in two (a +05:30 zone's midnight) holds rows of two groups, so its rows are read raw instead.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
LISTED_HOURS = 2000  # past this many (no daily cells to read: an upgrade's overlap), hourly_listed() gives ranges
Range = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Cut:
    days: tuple[Range, ...]  # read from daily cells (00:00 UTC to 00:00 UTC)
    hours: tuple[Range, ...]  # read from hourly cells
    split: tuple[datetime, ...]  # hours a boundary cuts in two: read from the spend rows

    def hourly(self) -> Q:
        """Hourly cells of the hour ranges, the split hours left out."""
        return within(self.hours, "bucket") & ~Q(bucket__in=self.split) if self.split else within(self.hours, "bucket")

    def hourly_listed(self) -> Q:
        """hourly() as the list of the hours themselves: an index lookup per hour rather than a filter over every
        cell of the grain, which PostgreSQL applies to an OR of many ranges (a period's edges over 90 days)."""
        split = set(self.split)
        hours = [hour for low, high in self.hours for hour in hour_starts(low, high) if hour not in split]
        return Q(bucket__in=hours) if len(hours) <= LISTED_HOURS else self.hourly()


def floor_of(moment: datetime, step: timedelta) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0) if step == HOUR else \
        utc.replace(hour=0, minute=0, second=0, microsecond=0)


def merged(ranges: list[Range]) -> tuple[Range, ...]:
    """Ranges joined where one ends as the next begins."""
    found: list[Range] = []
    for low, high in sorted(ranges):
        if found and found[-1][1] >= low:
            found[-1] = (found[-1][0], max(found[-1][1], high))
        else:
            found.append((low, high))
    return tuple(found)


def cut(boundaries: Sequence[datetime], *, daily: bool) -> Cut:
    """The span from the first boundary to the last, cut as the module says (no daily cells unless `daily`)."""
    days: list[Range] = []
    hours: list[Range] = []
    for low, high in zip(boundaries, boundaries[1:], strict=False):
        first_day = floor_of(low, DAY) + (DAY if floor_of(low, DAY) < low else timedelta(0))
        last_day = floor_of(high, DAY)
        if daily and first_day < last_day:
            days.append((first_day, last_day))
            hours += [r for r in ((low, first_day), (last_day, high)) if r[0] < r[1]]
        else:
            hours.append((low, high))
    split = tuple(sorted({floor_of(b, HOUR) for b in boundaries if floor_of(b, HOUR) != b}))
    return Cut(days=merged(days), hours=merged(hours), split=split)


def hour_starts(low: datetime, high: datetime) -> list[datetime]:
    """The whole UTC hours starting in [low, high)."""
    hour = floor_of(low, HOUR)
    hour += HOUR if hour < low else timedelta(0)
    found = []
    while hour < high:
        found.append(hour)
        hour += HOUR
    return found


def within(ranges: Sequence[Range], column: str) -> Q:
    """Rows whose `column` falls in one of the ranges (none for no ranges)."""
    found = Q(pk__in=[])
    for low, high in ranges:
        found |= Q(**{f"{column}__gte": low, f"{column}__lt": high})
    return found


def split_rows(split: Sequence[datetime]) -> Q:
    """Spend rows in the split hours."""
    return within([(hour, hour + HOUR) for hour in split], "start_time")
