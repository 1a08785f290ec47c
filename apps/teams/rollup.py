"""The spend roll-up: SpendLog rows summed into hourly cells (SpendRollup, SpendTagRollup) by one statement each,
and into daily cells of the all-teams and per-team grains (what a long span's whole UTC days are read from), the
tags' as SpendTagGrain.

The roll-up is additive and exact: each run sums only the rows stored since the last one (id above the mark) and
adds those sums to their cells (`INSERT ... SELECT ... ON CONFLICT DO UPDATE`), in the transaction that moves
the mark. A row is summed once however late it arrives (a spend event held in Redis through a database outage
lands in an hour summed long ago), and old cells never need their raw rows again, so retention may prune them.
Rows reach SpendLog in id order: the spend flush is a single writer (its lock).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction
from django.db.models import Max

from apps.teams.models import (LATENCY_BOUNDS_MS, SpendLog, SpendRollup, SpendRollupMark, SpendTagGrain,
                               SpendTagRollup)

logger = logging.getLogger("tollgate.spend")

ROLLUP_BATCH = 200_000  # spend rows summed per statement, so a first roll-up of a large table runs in steps
CELL = ("bucket", "team_id", "model_alias", "provider", "deployment_id")
TAG_CELL = ("bucket", "team_id", "tag")


@dataclass(frozen=True, slots=True)
class RollupResult:
    rows: int  # spend rows summed this run
    last_id: int  # the mark after it
    done: bool  # no stored row is left past the mark


def hour_of(column: str, unit: str = "hour") -> str:
    """SQL for the UTC hour (or `unit` "day") a timestamp column falls in."""
    if connection.vendor == "postgresql":
        return f"date_trunc('{unit}', {column})"
    return f"strftime('%%Y-%%m-%%d {'%%H' if unit == 'hour' else '00'}:00:00', {column})"


def latency_sums() -> list[str]:
    """One SUM per latency bucket (refusals made no attempt and are left out)."""
    sums, low = [], 0
    for bound in (*LATENCY_BOUNDS_MS, None):
        high = f" AND latency_ms < {bound}" if bound is not None else ""
        sums.append(f"SUM(CASE WHEN status <> 'refused' AND latency_ms >= {low}{high} THEN 1 ELSE 0 END)")
        low = bound or 0
    return sums


def upsert(table: str, cell: tuple[str, ...], columns: list[str]) -> str:
    added = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return f"ON CONFLICT ({', '.join(cell)}) DO UPDATE SET {added}"


GRAIN_KEYS = {  # what each grain of SpendRollup groups by, after the hour
    SpendRollup.CELL: ["coalesce(team_id, '')", "model_alias", "provider", "deployment_id"],
    SpendRollup.DEPLOYMENTS: ["''", "model_alias", "provider", "deployment_id"],
    SpendRollup.TEAMS: ["coalesce(team_id, '')", "''", "''", "''"],
}
GRAIN_KEYS |= {daily: GRAIN_KEYS[hourly] for hourly, daily in SpendRollup.DAILY.items()}
DAILY_GRAINS = frozenset(SpendRollup.DAILY.values())


@cache
def rollup_statement(grain: int) -> str:
    """Sum spend rows with id in (%s, %s] into their hourly cells of one grain."""
    table = connection.ops.quote_name(SpendRollup._meta.db_table)
    sums = {"requests": "SUM(CASE WHEN status <> 'refused' THEN 1 ELSE 0 END)",
            "failures": "SUM(CASE WHEN status = 'failure' THEN 1 ELSE 0 END)",
            "refusals": "SUM(CASE WHEN status = 'refused' THEN 1 ELSE 0 END)",
            "cost": "SUM(cost)", "prompt_tokens": "SUM(prompt_tokens)", "completion_tokens": "SUM(completion_tokens)",
            "latency_ms_sum": "SUM(CASE WHEN status <> 'refused' THEN latency_ms ELSE 0 END)",
            **{f"lat_{i}": expr for i, expr in enumerate(latency_sums())}}
    keys = [hour_of("start_time", "day" if grain in DAILY_GRAINS else "hour"), *GRAIN_KEYS[grain]]
    grouped = [key for key in keys if key != "''"]  # PostgreSQL groups by no constant
    source = connection.ops.quote_name(SpendLog._meta.db_table)
    return (f"INSERT INTO {table} (grain, {', '.join((*CELL, *sums))}) "
            f"SELECT {grain}, {', '.join(keys)}, {', '.join(sums.values())} FROM {source} WHERE id > %s AND id <= %s "
            f"GROUP BY {', '.join(grouped)} {upsert(table, ('grain', *CELL), list(sums))}")


TAG_GRAINS = {  # what each grain of SpendTagGrain groups by: its time unit and team column ("" for every team)
    SpendTagGrain.ALL_TEAMS: ("hour", "''"),
    SpendTagGrain.TEAMS_DAILY: ("day", "team_id"),
    SpendTagGrain.ALL_TEAMS_DAILY: ("day", "''"),
}


def tag_cells_sql(*, grain: int | None, source: str, tag: str, time: str, team: str) -> str:
    """INSERT ... SELECT of tag cells (the hourly per-team ones for grain None) from `source`, grouped by `tag`, the
    hour or day of `time` and `team` (a column, or '' summing every team); `source` names `requests` and `cost`."""
    unit, team = ("hour", team) if grain is None else (TAG_GRAINS[grain][0],
                                                        "''" if TAG_GRAINS[grain][1] == "''" else team)
    table = connection.ops.quote_name((SpendTagRollup if grain is None else SpendTagGrain)._meta.db_table)
    keys = [hour_of(time, unit), team, tag]
    grouped = [key for key in keys if key != "''"]  # PostgreSQL groups by no constant
    cell = TAG_CELL if grain is None else ("grain", *TAG_CELL)
    return (f"INSERT INTO {table} ({', '.join(cell)}, requests, cost) "
            f"SELECT {'' if grain is None else f'{grain}, '}{', '.join(keys)}, SUM(requests), SUM(cost) "
            f"FROM {source} GROUP BY {', '.join(grouped)} {upsert(table, cell, ['requests', 'cost'])}")


@cache
def tag_rollup_statement(grain: int | None = None) -> str:
    """Sum spend rows with id in (%s, %s] into their tag cells (hourly per team, or of a SpendTagGrain grain), once
    under each of a row's tags."""
    source = connection.ops.quote_name(SpendLog._meta.db_table)
    if connection.vendor == "postgresql":
        tags = (f"{source} AS s CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(s.tags) = "
                f"'array' THEN s.tags ELSE '[]'::jsonb END) AS t(tag)")
        tag = "left(t.tag, 200)"
    else:
        tags, tag = f"{source} AS s, json_each(CASE WHEN json_type(s.tags) = 'array' THEN s.tags ELSE '[]' END) AS t", \
            "substr(t.value, 1, 200)"
    rows = (f"(SELECT s.start_time, coalesce(s.team_id, '') AS team_id, {tag} AS tag, CASE WHEN s.status <> "
            f"'refused' THEN 1 ELSE 0 END AS requests, s.cost FROM {tags} WHERE s.id > %s AND s.id <= %s) AS r")
    return tag_cells_sql(grain=grain, source=rows, tag="r.tag", time="r.start_time", team="r.team_id")


def tag_grains_rebuild() -> None:
    """SpendTagGrain refilled from the hourly tag cells (not from the spend rows, which retention may have pruned).
    The caller holds the roll-up mark's lock, so no hour is summed meanwhile."""
    hourly = connection.ops.quote_name(SpendTagRollup._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(SpendTagGrain._meta.db_table)}")
        for grain in TAG_GRAINS:
            cursor.execute(tag_cells_sql(grain=grain, source=hourly, tag="tag", time="bucket", team="team_id"), [])


def rollup_mark() -> int:
    """How far the roll-up has read (0 before its first run)."""
    mark = SpendRollupMark.objects.filter(pk=SpendRollupMark.SINGLETON).values_list("last_id", flat=True).first()
    return mark or 0


@dataclass(frozen=True, slots=True)
class RollupMarks:
    last_id: int  # every spend row up to it is in the cells
    tag_grains_id: int  # SpendTagGrain holds the rows up to it (last_id, but during an upgrade's overlap)

    @property
    def tag_grains_current(self) -> bool:
        return self.tag_grains_id == self.last_id


def rollup_marks() -> RollupMarks:
    """Both marks in one read, so a page's reads all split cells from raw rows at the same id."""
    marks = SpendRollupMark.objects.filter(pk=SpendRollupMark.SINGLETON).values_list("last_id", "tag_grains_id")
    last_id, tag_grains_id = marks.first() or (0, 0)
    return RollupMarks(last_id=last_id, tag_grains_id=tag_grains_id)


def spend_rollup_step(*, batch: int = ROLLUP_BATCH) -> RollupResult:
    """Sum the spend rows in the next `batch` ids past the mark into the roll-up and move the mark, in one
    transaction."""
    with transaction.atomic():
        mark, _ = SpendRollupMark.objects.select_for_update().get_or_create(pk=SpendRollupMark.SINGLETON)
        if mark.tag_grains_id != mark.last_id:  # a release without the tag grains rolled up (an upgrade's overlap)
            tag_grains_rebuild()
            mark.tag_grains_id = mark.last_id
            mark.save(update_fields=["tag_grains_id", "updated_at"])
        top = SpendLog.objects.aggregate(top=Max("id"))["top"] or 0
        end = min(top, mark.last_id + batch)
        if end <= mark.last_id:
            return RollupResult(rows=0, last_id=mark.last_id, done=True)
        with connection.cursor() as cursor:
            for grain in GRAIN_KEYS:
                cursor.execute(rollup_statement(grain), [mark.last_id, end])
            for tag_grain in (None, *TAG_GRAINS):
                cursor.execute(tag_rollup_statement(tag_grain), [mark.last_id, end])
        rows = SpendLog.objects.filter(id__gt=mark.last_id, id__lte=end).count()
        mark.last_id = mark.tag_grains_id = end
        mark.save(update_fields=["last_id", "tag_grains_id", "updated_at"])
    return RollupResult(rows=rows, last_id=end, done=end >= top)


def spend_rollup(*, batch: int = ROLLUP_BATCH) -> RollupResult:
    """Sum every spend row stored since the last run into the roll-up."""
    total = 0
    while True:
        step = spend_rollup_step(batch=batch)
        total += step.rows
        if step.done:
            return RollupResult(rows=total, last_id=step.last_id, done=True)
