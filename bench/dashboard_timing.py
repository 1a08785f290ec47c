"""`python -m bench.dashboard_timing`: time the dashboard's and the admin's pages on a seeded database
(bench.dashboard_seed first; `--match` times only the pages whose name holds a word, such as "admin").

Each page is asked `--repeat` times through Django's full handler (middleware, session, template) by a staff user
and by a team admin; the median and the slowest are written to bench/results/dashboard-<date>.md (JSON beside it),
with the median CPU time of this process (Python, the driver's decoding, the template; PostgreSQL's own work aside),
which a shared machine's load moves far less than the wall times.
Then each page's SQL is captured once and run again under EXPLAIN ANALYZE: the sum of PostgreSQL's execution times
and the slowest statement are reported beside the wall times, since a shared machine's load moves the wall times
far more than the plans. The team admin also owns its team's keys, so the portal lists 2,000 keys of one user.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")
RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 300


def pages(today: dt.date, deep_cursor: str, team_pk: int) -> list[tuple[str, str]]:
    """(name, path) of every page timed; `deep_cursor` is where the 2,000th page of keys starts, `team_pk` is the
    team with 2,000 keys (and a user on each) whose admin page is timed."""
    last30, last90 = today - dt.timedelta(days=29), today - dt.timedelta(days=89)
    return [
        ("overview, 30 days by day, UTC", f"/dashboard/?start={last30}&end={today}&tz=UTC"),
        ("overview, 90 days by week, Berlin", f"/dashboard/?start={last90}&end={today}&tz=Europe/Berlin&grain=week"),
        ("overview, 7 days, Kolkata (raw rows)",
         f"/dashboard/?start={today - dt.timedelta(days=6)}&end={today}&tz=Asia/Kolkata"),
        ("spend CSV, 30 days", f"/dashboard/export/spend.csv?start={last30}&end={today}&tz=UTC"),
        ("keys, page 1", "/dashboard/keys/"),
        ("keys, page 2000 (by cursor)", f"/dashboard/keys/?after={deep_cursor}"),
        ("keys, search", "/dashboard/keys/?q=bench-key-12345"),
        ("why, one request", "/dashboard/why/?request_id=bench-500000"),
        ("keys CSV (top keys by window)", "/dashboard/export/keys.csv"),
        ("admin key list, page 1", "/admin/teams/virtualkey/"),
        ("admin key list, page 200", "/admin/teams/virtualkey/?p=200"),
        ("admin key list, page 2000", "/admin/teams/virtualkey/?p=2000"),
        ("admin key list, search", "/admin/teams/virtualkey/?q=bench-key-12345"),
        ("admin key list, by spend", "/admin/teams/virtualkey/?o=-5"),
        ("admin key list, expired", "/admin/teams/virtualkey/?expired=yes"),
        ("admin key list, not expired", "/admin/teams/virtualkey/?expired=no"),
        ("admin key list, one team", "/admin/teams/virtualkey/?team__team_id__exact=bench-team-7"),
        ("admin team page (2,000 keys)", f"/admin/teams/team/{team_pk}/change/"),
        ("admin team list", "/admin/teams/team/"),
        ("admin user list", "/admin/teams/user/"),
        ("admin spend rows, page 1", "/admin/teams/spendlog/"),
        ("admin spend rows, page 50", "/admin/teams/spendlog/?p=50"),
        ("admin spend rows, one provider", "/admin/teams/spendlog/?provider=anthropic"),
        ("admin spend rows, refused", "/admin/teams/spendlog/?status=refused"),
        ("admin spend rows, failures of one team", "/admin/teams/spendlog/?status=failure&team_id=bench-team-7"),
        ("admin spend rows, last 24 hours", "/admin/teams/spendlog/?since=24h"),
        ("admin spend rows, search a request id", "/admin/teams/spendlog/?q=bench-500000"),
        ("admin roll-up cells", "/admin/teams/spendrollup/"),
        ("admin roll-up cells, one grain", "/admin/teams/spendrollup/?grain=2"),
        ("admin tag roll-up cells", "/admin/teams/spendtagrollup/"),
        ("admin index", "/admin/"),
        ("portal home (my keys)", "/portal/"),
    ]


def time_page(client: Any, path: str, repeat: int) -> dict[str, Any]:
    """Median and slowest milliseconds of `repeat` GETs of `path`, then its SQL under EXPLAIN ANALYZE."""
    samples, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1),
            "cpu_ms": round(statistics.median(cpu), 1), "status": response.status_code, **explained(client, path)}


def explained(client: Any, path: str) -> dict[str, Any]:
    """The page's statements run again under EXPLAIN ANALYZE: their summed execution time, the slowest one, and
    whether any scans a large table whole."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    total, slowest, slowest_sql, seq_scans = 0.0, 0.0, "", set()
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0][0]
            ms = float(plan["Execution Time"])
            total += ms
            seq_scans |= scanned_whole(plan["Plan"])
            if ms > slowest:
                slowest, slowest_sql = ms, sql
    return {"queries": len(captured.captured_queries), "sql_ms": round(total, 1), "slowest_sql_ms": round(slowest, 1),
            "slowest_sql": slowest_sql[:300], "seq_scans": sorted(seq_scans)}


def scanned_whole(plan: dict[str, Any]) -> set[str]:
    """Large tables a plan reads by a sequential scan."""
    found = {plan["Relation Name"]} if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in BIG else set()
    for child in plan.get("Plans", ()):
        found |= scanned_whole(child)
    return found


BIG = {"teams_spendlog", "teams_virtualkey", "teams_spendrollup", "teams_spendtagrollup"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--match", default="", help="time only the pages whose name contains this")
    args = parser.parse_args()
    django.setup()
    from django.test import Client

    from apps.teams.models import SpendLog, Team, TeamMembership, User, VirtualKey

    staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True, "is_superuser": True})
    admin, _ = User.objects.get_or_create(username="bench-admin")
    TeamMembership.objects.get_or_create(team=Team.objects.get(team_id="bench-team-7"), user=admin,
                                         defaults={"role": "admin"})
    VirtualKey.objects.filter(team_id="bench-team-7", user__isnull=True).update(user=admin)
    today = dt.datetime.now(dt.UTC).date()
    deep = VirtualKey.objects.order_by("-spend", "id").values_list("spend", "id")[2000 * 50 - 1]
    cursor = f"{deep[0]}:{deep[1]}"
    team_pk = Team.objects.get(team_id="bench-team-7").pk
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for who, user in (("staff", staff), ("team admin", admin)):
        client = Client()
        client.force_login(user)
        client.get("/dashboard/?tz=UTC")  # warm the connection and the template cache
        results[who] = {name: time_page(client, path, args.repeat) for name, path in pages(today, cursor, team_pk)
                        if args.match in name and (who == "staff" or not path.startswith("/admin/"))}  # the admin is for staff only
    facts = {"spend_rows": SpendLog.objects.count(), "keys": VirtualKey.objects.count(),
             "load_average_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count() or 0}
    write(results, facts)


def write(results: dict[str, dict[str, dict[str, Any]]], facts: dict[str, Any]) -> None:
    """The table as markdown (and JSON) under bench/results/."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H%M")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"dashboard-{stamp}.json").write_text(json.dumps({"facts": facts, "results": results}, indent=2))
    lines = [f"# Dashboard pages, {stamp} UTC", "",
             f"{facts['spend_rows']:,} spend rows, {facts['keys']:,} keys (bench.dashboard_seed), PostgreSQL; "
             f"time through Django's handler, target {TARGET_MS} ms; load average {facts['load_average_1m']} on "
             f"{facts['cpus']} CPUs at the end (compare runs on a quiet machine only).", "",
             "| page | viewer | median ms | slowest ms | Python CPU ms | queries | SQL ms (EXPLAIN ANALYZE) | "
             "slowest statement ms | seq scans |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for who, found in results.items():
        for name, numbers in found.items():
            flag = "" if numbers["max_ms"] < TARGET_MS else " (over)"
            status = "" if numbers["status"] == 200 else f" ({numbers['status']})"
            lines.append(f"| {name}{status} | {who} | {numbers['median_ms']} | {numbers['max_ms']}{flag} | "
                         f"{numbers['cpu_ms']} | {numbers['queries']} | {numbers['sql_ms']} | {numbers['slowest_sql_ms']} | "
                         f"{', '.join(numbers['seq_scans']) or '-'} |")
    path = RESULTS / f"dashboard-{stamp}.md"
    path.write_text("\n".join(lines) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
