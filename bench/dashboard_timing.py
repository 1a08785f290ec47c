"""`python -m bench.dashboard_timing`: time the dashboard's pages on a seeded database (bench.dashboard_seed first).

Each page is asked `--repeat` times through Django's full handler (middleware, session, template) by a staff user
and by a team admin; the median and the slowest are written to bench/results/dashboard-<date>.md (JSON beside it).
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


def pages(today: dt.date, deep_cursor: str) -> list[tuple[str, str]]:
    """(name, path) of every page timed; `deep_cursor` is where the 2,000th page of keys starts."""
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
    ]


def time_page(client: Any, path: str, repeat: int) -> dict[str, float]:
    """Median and slowest milliseconds of `repeat` GETs of `path`."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 404), (path, response.status_code)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    django.setup()
    from django.test import Client

    from apps.teams.models import SpendLog, Team, TeamMembership, User, VirtualKey

    staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    admin, _ = User.objects.get_or_create(username="bench-admin")
    TeamMembership.objects.get_or_create(team=Team.objects.get(team_id="bench-team-7"), user=admin,
                                         defaults={"role": "admin"})
    today = dt.datetime.now(dt.UTC).date()
    deep = VirtualKey.objects.order_by("-spend", "id").values_list("spend", "id")[2000 * 50 - 1]
    cursor = f"{deep[0]}:{deep[1]}"
    results: dict[str, dict[str, dict[str, float]]] = {}
    for who, user in (("staff", staff), ("team admin", admin)):
        client = Client()
        client.force_login(user)
        client.get("/dashboard/?tz=UTC")  # warm the connection and the template cache
        results[who] = {name: time_page(client, path, args.repeat) for name, path in pages(today, cursor)}
    facts = {"spend_rows": SpendLog.objects.count(), "keys": VirtualKey.objects.count(),
             "load_average_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count() or 0}
    write(results, facts)


def write(results: dict[str, dict[str, dict[str, float]]], facts: dict[str, Any]) -> None:
    """The table as markdown (and JSON) under bench/results/."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H%M")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"dashboard-{stamp}.json").write_text(json.dumps({"facts": facts, "results": results}, indent=2))
    lines = [f"# Dashboard pages, {stamp} UTC", "",
             f"{facts['spend_rows']:,} spend rows, {facts['keys']:,} keys (bench.dashboard_seed), PostgreSQL; "
             f"time through Django's handler, target {TARGET_MS} ms; load average {facts['load_average_1m']} on "
             f"{facts['cpus']} CPUs at the end (compare runs on a quiet machine only).", "",
             "| page | viewer | median ms | slowest ms |", "| --- | --- | ---: | ---: |"]
    for who, found in results.items():
        for name, numbers in found.items():
            flag = "" if numbers["max_ms"] < TARGET_MS else " (over)"
            lines.append(f"| {name} | {who} | {numbers['median_ms']} | {numbers['max_ms']}{flag} |")
    path = RESULTS / f"dashboard-{stamp}.md"
    path.write_text("\n".join(lines) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
