"""Spend sums over a span, grouped by any of team, model, provider, deployment and period, computed in SQL.

Two sources answer together: the hourly roll-up (every spend row up to its mark) and the raw spend rows stored
after the mark (at most a roll-up interval's worth), so totals match the spend log to the row. A zone whose
midnights are not on UTC hours (India's +05:30) cuts one hour a day in two: those hours are summed from their raw
rows (exact while retention keeps them), every other hour from its cell.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, Count, DateTimeField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, Trunc

from apps.teams.models import LATENCY_BOUNDS_MS, SpendLog, SpendRollup
from apps.teams.rollup import RollupMarks, rollup_mark, rollup_marks
from gatewaysite.dashboard.ranges import cut, split_rows, within
from gatewaysite.dashboard.span import Span, period_of
from gatewaysite.dashboard.viewer import Viewer

COUNTS = ("requests", "failures", "refusals", "prompt_tokens", "completion_tokens", "latency_ms_sum")
HISTOGRAM = tuple(f"lat_{i}" for i in range(len(LATENCY_BOUNDS_MS) + 1))
DIMENSIONS = {"team": "team_id", "model": "model_alias", "provider": "provider", "deployment": "deployment_id"}


@dataclass(slots=True)
class Cell:
    """The sums of one group."""

    cost: Decimal = Decimal(0)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    histogram: list[int] = field(default_factory=lambda: [0] * len(HISTOGRAM))

    def add(self, row: Mapping[str, Any]) -> None:
        self.cost += row["cost"] or 0
        counts = self.counts
        for name in COUNTS:
            if value := row.get(name):  # PostgreSQL's SUM of integers is a Decimal
                counts[name] += int(value)
        if "lat_0" in row:
            histogram = self.histogram
            for i, name in enumerate(HISTOGRAM):
                if value := row[name]:
                    histogram[i] += int(value)

    @property
    def requests(self) -> int:
        return self.counts["requests"]

    @property
    def error_rate(self) -> float:
        return self.counts["failures"] / self.requests if self.requests else 0.0

    def percentile(self, q: float) -> int | None:
        """Latency at quantile q (ms), interpolated inside its histogram bucket; None without attempts."""
        total = sum(self.histogram)
        if not total:
            return None
        target, seen = q * total, 0
        for i, count in enumerate(self.histogram):
            if count and seen + count >= target:
                low = LATENCY_BOUNDS_MS[i - 1] if i else 0
                if i == len(LATENCY_BOUNDS_MS):
                    return low
                return round(low + (LATENCY_BOUNDS_MS[i] - low) * (target - seen) / count)
            seen += count
        return LATENCY_BOUNDS_MS[-1]


def rollup_sums(*, latency: bool = True) -> dict[str, Any]:
    """The cells' sums; the counts as bigint, since PostgreSQL sums bigints to numeric, which costs the driver a
    Decimal to parse per value (a third of reading 6,000 team-days for the CSV)."""
    counts = COUNTS if latency else COUNTS[:-1]  # the per-team grain's reads stay within its covering index
    return {"cost": Sum("cost"), **{name: Cast(Sum(name), BigIntegerField())
                                    for name in (*counts, *(HISTOGRAM if latency else ()))}}


def raw_sums(*, latency: bool = True) -> dict[str, Any]:
    attempt = ~Q(status="refused")
    sums: dict[str, Any] = {
        "cost": Sum("cost"), "requests": Count("id", filter=attempt), "failures": Count("id", filter=Q(status="failure")),
        "refusals": Count("id", filter=Q(status="refused")), "prompt_tokens": Sum("prompt_tokens"),
        "completion_tokens": Sum("completion_tokens")}
    if latency:
        sums["latency_ms_sum"] = Sum("latency_ms", filter=attempt)
    low = 0
    for name, bound in zip(HISTOGRAM if latency else (), (*LATENCY_BOUNDS_MS, None), strict=False):
        band = Q(latency_ms__gte=low) & (Q(latency_ms__lt=bound) if bound is not None else Q())
        sums[name] = Count("id", filter=attempt & band)
        low = bound or 0
    return sums


def grouped(rows: QuerySet[Any], *, time_column: str, by: Sequence[str], span: Span, with_period: bool,
            sums: dict[str, Any]) -> QuerySet[Any]:
    """`rows` summed per group in SQL (and per local day/week/month when `with_period`)."""
    # Roll-up cells name no team as "" already; spend rows as NULL.
    fields: dict[str, Any] = {f"d_{name}": F(DIMENSIONS[name]) if time_column == "bucket" else
                              Coalesce(DIMENSIONS[name], Value("")) for name in by}
    if with_period:
        kind = "day" if span.grain == "day" else span.grain
        fields["period"] = Trunc(time_column, kind, output_field=DateTimeField(), tzinfo=span.zone)
    return rows.order_by().annotate(**fields).values(*fields).annotate(**sums)


def sources(viewer: Viewer, span: Span, grain: int, *, by_period: bool,
            mark: int) -> list[tuple[QuerySet[Any], str, dict[str, Any]]]:
    """(rows, their time column, their sums) whose union is every spend row of the span the viewer may see, each
    once: the roll-up's cells of one grain up to its mark (whole UTC days from its daily cells where it has them),
    and the spend rows stored since (id above `mark`), or in an hour a boundary cuts in two (ranges.py). The per-team grain has no
    latency (it answers spend, counts and tokens only)."""
    latency = grain not in (SpendRollup.TEAMS, SpendRollup.TEAMS_DAILY)
    daily = SpendRollup.DAILY.get(grain)
    found = cut(span.boundaries(by_period=by_period), daily=daily is not None)
    cells = SpendRollup.objects.filter(viewer.team_filter())
    raw = SpendLog.objects.filter(viewer.team_filter(), start_time__gte=span.start, start_time__lt=span.end)
    parts = [(cells.filter(found.hourly(), grain=grain), "bucket", rollup_sums(latency=latency)),
             (raw.filter(Q(id__gt=mark) | split_rows(found.split)), "start_time", raw_sums(latency=latency))]
    if daily is not None and found.days:
        parts.append((cells.filter(within(found.days, "bucket"), grain=daily), "bucket", rollup_sums(latency=latency)))
    return parts


def cells(viewer: Viewer, span: Span, *, by: Sequence[str], grain: int, mark: int, with_period: bool = False,
          where: Q = Q()) -> dict[tuple[Any, ...], Cell]:
    """Sums per group key (the `by` values, then the period's first local day when `with_period`), read from the
    roll-up grain that holds `by`."""
    merged: dict[tuple[Any, ...], Cell] = defaultdict(Cell)
    names = [f"d_{name}" for name in by]
    periods: dict[datetime, date] = {}  # each period's start as the database gave it: its first local day
    for rows, time_column, sums in sources(viewer, span, grain, by_period=with_period, mark=mark):
        for row in fetched(grouped(rows.filter(where), time_column=time_column, by=by, span=span,
                                   with_period=with_period, sums=sums)):
            key = tuple([row[name] for name in names])
            if with_period:
                moment = row["period"]
                if (day := periods.get(moment)) is None:
                    day = periods[moment] = period_of(local_day(moment, span), span.grain)
                key += (day,)
            merged[key].add(row)
    return dict(merged)


def fetched(rows: QuerySet[Any]) -> Iterator[Mapping[str, Any]]:
    """A values() query's rows as dicts. On PostgreSQL straight from the cursor, whose values are already Decimal,
    int and datetime: Django's per-value converters cost more than the query over thousands of cells."""
    if connection.vendor != "postgresql":
        yield from rows
        return
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # no range to read (a span of whole days has no edge hours)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        for record in cursor.fetchall():
            yield dict(zip(names, record, strict=True))


def local_day(moment: datetime, span: Span) -> date:
    """The local date of a period's start: a naive one (PostgreSQL's truncation in the zone, unconverted) is
    already local."""
    return moment.date() if moment.tzinfo is None else moment.astimezone(span.zone).date()


DEPLOYMENT_KEYS = ("model", "provider", "deployment", "period")
CHARTED_TEAMS = 8  # teams drawn one by one over time; the rest are "other"


@dataclass(frozen=True, slots=True)
class SpanCells:
    """Every sum a dashboard page needs, in three small reads: each team's totals over the span, the periods of the
    dearest teams only, and each deployment's (with its model and provider) per period. Staff read the roll-up's
    all-teams grain for deployments; a team admin the cells of its own teams."""

    by_team: dict[tuple[Any, ...], Cell]  # (team,)
    top_team_periods: dict[tuple[Any, ...], Cell]  # (team, period) of the CHARTED_TEAMS dearest
    by_deployment: dict[tuple[Any, ...], Cell]  # DEPLOYMENT_KEYS
    marks: RollupMarks  # where the cells end and the raw rows begin

    def deployments(self, names: Sequence[str]) -> dict[tuple[Any, ...], Cell]:
        return project(self.by_deployment, DEPLOYMENT_KEYS, names)


def team_rows(teams: Iterable[str]) -> Q:
    """Rows of these teams, "" naming rows of no team (NULL in the spend log)."""
    named = [team for team in teams if team]
    found = Q(team_id__in=named)
    return found | Q(team_id="") | Q(team_id__isnull=True) if "" in teams else found


def team_periods(viewer: Viewer, span: Span, where: Q = Q(), *, mark: int | None = None) -> dict[tuple[Any, ...], Cell]:
    """(team, period) sums of the viewer's teams (narrowed by `where`)."""
    return cells(viewer, span, by=("team",), grain=SpendRollup.TEAMS, with_period=True, where=where,
                 mark=rollup_mark() if mark is None else mark)


def span_cells(viewer: Viewer, span: Span) -> SpanCells:
    marks = rollup_marks()
    by_team = cells(viewer, span, by=("team",), grain=SpendRollup.TEAMS, mark=marks.last_id)
    dearest = [key[0] for key, _ in sorted(by_team.items(), key=lambda item: -item[1].cost)[:CHARTED_TEAMS]]
    deployments_grain = SpendRollup.DEPLOYMENTS if viewer.sees_all else SpendRollup.CELL
    return SpanCells(
        by_team=by_team, marks=marks,
        top_team_periods=team_periods(viewer, span, team_rows(dearest), mark=marks.last_id) if dearest else {},
        by_deployment=cells(viewer, span, by=("model", "provider", "deployment"), grain=deployments_grain,
                            with_period=True, mark=marks.last_id))


def project(found: Mapping[tuple[Any, ...], Cell], keys: Sequence[str],
            names: Sequence[str]) -> dict[tuple[Any, ...], Cell]:
    """Cells keyed by `keys` summed over everything but `names`."""
    if tuple(names) == tuple(keys):
        return dict(found)
    positions = [keys.index(name) for name in names]
    merged: dict[tuple[Any, ...], list[Cell]] = defaultdict(list)
    for key, cell in found.items():
        merged[tuple([key[i] for i in positions])].append(cell)
    # A group of one is that cell (cells are not changed once read).
    return {key: group[0] if len(group) == 1 else total(group) for key, group in merged.items()}


def total(found: Iterable[Cell]) -> Cell:
    """One cell summing others."""
    result = Cell()
    counts, histogram = result.counts, result.histogram
    for cell in found:
        result.cost += cell.cost
        for name, value in cell.counts.items():
            counts[name] += value
        for i, value in enumerate(cell.histogram):
            if value:
                histogram[i] += value
    return result


def series(found: Mapping[tuple[Any, ...], Cell], periods: Sequence[date], *, top: int = CHARTED_TEAMS,
           totals: Mapping[date, Decimal] | None = None) -> dict[str, list[float]]:
    """Cost per period for each group of `(group, period)` keys: the `top` dearest groups, the rest as "other"
    (or, given each period's `totals`, what the groups shown leave of them)."""
    by_group: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (group, period), cell in found.items():
        by_group[str(group) or "(none)"][period] += cell.cost
    ranked = sorted(by_group, key=lambda g: (-sum(by_group[g].values()), g))
    result = {g: [float(by_group[g].get(p, 0)) for p in periods] for g in ranked[:top]}
    if totals is not None:
        rest = [totals.get(p, Decimal(0)) - sum((by_group[g].get(p, Decimal(0)) for g in ranked[:top]), Decimal(0))
                for p in periods]
        if any(rest):
            result["other"] = [float(value) for value in rest]
    elif len(ranked) > top:
        result["other"] = [float(sum((by_group[g].get(p, Decimal(0)) for g in ranked[top:]), Decimal(0)))
                           for p in periods]
    return result
