"""The hourly roll-up equals the spend rows it summed, however late they arrive; retention prunes only what it holds."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from apps.teams.models import SpendLog, SpendRollup, SpendRollupMark, SpendTagGrain, SpendTagRollup
from apps.teams.retention import spend_prune
from apps.teams.rollup import rollup_mark, spend_rollup
from apps.teams.tasks import spend_retention_task, spend_rollup_task
from tests.dashboard.conftest import row
from tests.teams.conftest import Cast

T0 = datetime(2026, 3, 5, 10, 15, tzinfo=UTC)


def rolled_totals(grain: int = SpendRollup.TEAMS) -> dict[str, object]:
    return SpendRollup.objects.filter(grain=grain).aggregate(cost=Sum("cost"), requests=Sum("requests"), failures=Sum("failures"),
                                         refusals=Sum("refusals"))


def test_rollup_sums_each_row_once_in_its_hour_and_team(cast: Cast) -> None:
    row(cast.bob, "r1", T0, "0.25", tags=("prod", "search"))
    row(cast.bob, "r2", T0 + timedelta(minutes=30), "0.50", status="failure", latency=900)
    row(cast.mallory, "r3", T0 + timedelta(hours=1), "1.00", tags=("prod",))
    row(cast.bob, "r4", T0, "0", deployment="", status="refused", latency=0)
    assert spend_rollup_task() == 4
    assert spend_rollup().rows == 0  # nothing new: nothing counted twice
    cells = {(c.bucket, c.team_id): (c.cost, c.requests, c.failures, c.refusals, c.latency_ms_sum)
             for c in SpendRollup.objects.filter(grain=SpendRollup.CELL, deployment_id="d-1")}
    hour = T0.replace(minute=0)
    assert cells == {(hour, cast.team_a.team_id): (Decimal("0.75"), 2, 1, 0, 1020),
                     (hour + timedelta(hours=1), cast.team_b.team_id): (Decimal("1.00"), 1, 0, 0, 120)}
    assert SpendRollup.objects.get(grain=SpendRollup.CELL, deployment_id="").refusals == 1
    for grain in (SpendRollup.CELL, SpendRollup.DEPLOYMENTS, SpendRollup.TEAMS, *SpendRollup.DAILY.values()):
        assert rolled_totals(grain) == {"cost": Decimal("1.75"), "requests": 3, "failures": 1, "refusals": 1}
    days = {(c.bucket, c.team_id): (c.cost, c.requests) for c in SpendRollup.objects.filter(grain=SpendRollup.TEAMS_DAILY)}
    midnight = T0.replace(hour=0, minute=0)  # one cell per team and UTC day, its hours summed
    assert days == {(midnight, cast.team_a.team_id): (Decimal("0.75"), 2),
                    (midnight, cast.team_b.team_id): (Decimal("1.00"), 1)}
    assert sorted(SpendRollup.objects.filter(grain=SpendRollup.DEPLOYMENTS).values_list("team_id", flat=True)) == \
        ["", "", ""]  # d-1 at two hours, the refusal's row: every team together
    tags = {(t.tag, t.team_id): t.cost for t in SpendTagRollup.objects.all()}
    assert tags == {("prod", cast.team_a.team_id): Decimal("0.25"), ("search", cast.team_a.team_id): Decimal("0.25"),
                    ("prod", cast.team_b.team_id): Decimal("1.00")}
    grains = {(t.grain, t.bucket, t.team_id, t.tag): (t.cost, t.requests) for t in SpendTagGrain.objects.all()}
    assert grains == {  # every team together per hour; per team and every team together per UTC day
        (SpendTagGrain.ALL_TEAMS, hour, "", "prod"): (Decimal("0.25"), 1),
        (SpendTagGrain.ALL_TEAMS, hour + timedelta(hours=1), "", "prod"): (Decimal("1.00"), 1),
        (SpendTagGrain.ALL_TEAMS, hour, "", "search"): (Decimal("0.25"), 1),
        (SpendTagGrain.TEAMS_DAILY, midnight, cast.team_a.team_id, "prod"): (Decimal("0.25"), 1),
        (SpendTagGrain.TEAMS_DAILY, midnight, cast.team_a.team_id, "search"): (Decimal("0.25"), 1),
        (SpendTagGrain.TEAMS_DAILY, midnight, cast.team_b.team_id, "prod"): (Decimal("1.00"), 1),
        (SpendTagGrain.ALL_TEAMS_DAILY, midnight, "", "prod"): (Decimal("1.25"), 2),
        (SpendTagGrain.ALL_TEAMS_DAILY, midnight, "", "search"): (Decimal("0.25"), 1)}
    histogram = SpendRollup.objects.get(grain=SpendRollup.CELL, bucket=hour, deployment_id="d-1")
    assert (histogram.lat_2, histogram.lat_5) == (1, 1)  # 120 ms below 200; 900 ms below 1600


def test_rows_arriving_late_are_added_to_hours_already_rolled_up(cast: Cast) -> None:
    row(cast.bob, "r1", T0, "0.25")
    spend_rollup()
    row(cast.bob, "late", T0 - timedelta(days=3), "0.10")  # held in Redis through an outage, stored days later
    row(cast.bob, "r2", T0, "0.05")
    spend_rollup(batch=1)  # one row per step: the mark moves row by row
    raw = SpendLog.objects.aggregate(cost=Sum("cost"), requests=Count("id"))
    assert rolled_totals() == {"cost": raw["cost"], "requests": raw["requests"], "failures": 0, "refusals": 0}
    assert SpendRollup.objects.get(grain=SpendRollup.CELL, bucket=T0.replace(minute=0)).cost == Decimal("0.30")
    assert rollup_mark() == SpendLog.objects.order_by("-id").values_list("id", flat=True)[0]


def test_tag_grains_left_behind_by_an_older_release_are_rebuilt_from_the_hourly_cells(cast: Cast) -> None:
    row(cast.bob, "r1", T0, "0.25", tags=("prod",))
    spend_rollup()
    row(cast.mallory, "r2", T0 + timedelta(days=1), "1.00", tags=("prod",))
    SpendTagRollup.objects.create(bucket=T0.replace(minute=0) + timedelta(days=1), team_id=cast.team_b.team_id,
                                  tag="prod", requests=1, cost=Decimal("1.00"))
    SpendRollupMark.objects.update(last_id=SpendLog.objects.get(request_id="r2").pk)  # the previous release's step
    SpendLog.objects.filter(request_id="r2").delete()  # and retention pruned the row: only the cell holds it
    assert spend_rollup().rows == 0
    days = dict(SpendTagGrain.objects.filter(grain=SpendTagGrain.ALL_TEAMS_DAILY).values_list("bucket", "cost"))
    midnight = T0.replace(hour=0, minute=0)
    assert days == {midnight: Decimal("0.25"), midnight + timedelta(days=1): Decimal("1.00")}
    mark = SpendRollupMark.objects.get()
    assert mark.tag_grains_id == mark.last_id


def test_retention_prunes_old_rows_in_batches_only_once_rolled_up(cast: Cast) -> None:
    now = datetime(2026, 3, 20, tzinfo=UTC)
    for n in range(7):
        row(cast.bob, f"old-{n}", now - timedelta(days=40, minutes=n), "0.01")
    row(cast.bob, "recent", now - timedelta(days=2), "0.02")
    assert spend_prune(days=30, now=now) == 0  # nothing is rolled up yet: every cent would be lost
    spend_rollup()
    row(cast.bob, "old-unrolled", now - timedelta(days=41), "0.04")
    assert spend_prune(days=30, batch=3, now=now) == 7
    assert sorted(SpendLog.objects.values_list("request_id", flat=True)) == ["old-unrolled", "recent"]
    assert rolled_totals()["cost"] == Decimal("0.09")  # the roll-up keeps what was pruned
    assert spend_prune(days=0, now=now) == 0  # 0 days: retention off


def test_retention_task_rolls_up_first_then_prunes(cast: Cast, settings) -> None:
    settings.TOLLGATE_SPEND_RETENTION_DAYS = 30
    row(cast.bob, "ancient", datetime(2020, 1, 1, tzinfo=UTC), "0.30")
    row(cast.bob, "fresh", datetime.now(UTC), "0.01")
    assert spend_retention_task() == 1
    assert list(SpendLog.objects.values_list("request_id", flat=True)) == ["fresh"]
    assert rolled_totals()["cost"] == Decimal("0.31")


def test_beat_schedules_the_rollup_and_retention() -> None:
    from gatewaysite import settings as site

    assert site.CELERY_BEAT_SCHEDULE["spend-rollup"]["task"] == "apps.teams.tasks.spend_rollup_task"
    assert ("spend-retention" in site.CELERY_BEAT_SCHEDULE) == (site.TOLLGATE_SPEND_RETENTION_DAYS > 0)


@pytest.mark.parametrize(("env_case", "days", "scheduled"), [
    pytest.param(None, "90", "True", id="unset_case"), pytest.param("0", "0", "False", id="off_case"),
    pytest.param("7", "7", "True", id="set_case")])
def test_retention_keeps_ninety_days_unless_told_otherwise(env_case: str | None, days: str, scheduled: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOLLGATE_SPEND_RETENTION_DAYS"}
    if env_case is not None:
        env["TOLLGATE_SPEND_RETENTION_DAYS"] = env_case
    probe = ("from gatewaysite import settings as s; "
             "print(s.TOLLGATE_SPEND_RETENTION_DAYS, 'spend-retention' in s.CELERY_BEAT_SCHEDULE)")
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                           timeout=120)
    assert found.stdout.split() == [days, scheduled]
