"""`python -m bench.dashboard_seed`: fill a PostgreSQL database with 400,000 keys in 200 teams and 1,000,000 spend
rows over 90 days, with generate_series in the database (no ORM rows), then roll the spend up.

Needs DATABASE_URL (PostgreSQL; its tables are replaced). Keys are drawn skewed (a few spend most), 3% of attempts
fail, 1% of calls are refused by a budget, a third carry a tag; latency spreads from 40 ms to seconds.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")

TEAMS = 200
DEPLOYMENTS = (("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude-sonnet", "anthropic"),
               ("claude-haiku", "anthropic"), ("gemini-pro", "gemini"), ("gemini-flash", "gemini"),
               ("command-r", "cohere"), ("llama-3", "vllm"), ("mistral-large", "mistral"),
               ("gpt-4o", "azure"), ("claude-sonnet", "bedrock"), ("embed-3", "openai"))


def literal(field: Any) -> str:
    """SQL for a model field's Python-side default (the columns are NOT NULL without database defaults)."""
    from django.db.models import JSONField

    if field.null:
        return "NULL"
    value = field.get_default()
    if isinstance(field, JSONField):
        return "'[]'::jsonb" if value == [] else "'{}'::jsonb"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) or field.get_internal_type() in {"DecimalField"}:
        return str(value or 0)
    if field.get_internal_type() == "DateTimeField":
        return "now()"
    return "''"


def insert_select(model: Any, overrides: dict[str, str], source: str) -> str:
    """INSERT every concrete column of `model` (but the id) from `source`, `overrides` by column name."""
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(f.column for f in columns)
    values = ", ".join(overrides.get(f.column, literal(f)) for f in columns)
    return f"INSERT INTO {model._meta.db_table} ({names}) SELECT {values} FROM {source}"


def seed(*, keys: int, rows: int, days: int) -> dict[str, float]:
    from django.db import connection

    from apps.teams.models import (SpendLog, SpendRollup, SpendRollupMark, SpendTagGrain, SpendTagRollup, Team,
                                   VirtualKey)

    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        for model in (SpendTagGrain, SpendTagRollup, SpendRollup, SpendRollupMark, SpendLog, VirtualKey, Team):
            cursor.execute(f"TRUNCATE {model._meta.db_table} RESTART IDENTITY CASCADE")
        started = time.perf_counter()
        cursor.execute(insert_select(Team, {"team_id": "'bench-team-' || g", "team_alias": "'Team ' || g",
                                            "max_budget": "1000"}, f"generate_series(0, {TEAMS - 1}) AS g"))
        cursor.execute(insert_select(VirtualKey, {
            "token_hash": "md5('k' || g) || md5('h' || g)", "key_name": "'sk-...' || lpad(g::text, 6, '0')",
            "key_alias": "'bench-key-' || g", "team_id": f"'bench-team-' || (g % {TEAMS})",
            "spend": "round((random() * 50)::numeric, 4)", "max_budget": "100",
            # One key in 20 expired yesterday, one in 20 expires in a month (the admin's expiry filter).
            "expires": "CASE g % 20 WHEN 0 THEN now() - interval '1 day' WHEN 1 THEN now() + interval '30 days' END"},
            f"generate_series(0, {keys - 1}) AS g"))
        timings["keys_s"] = time.perf_counter() - started
        started = time.perf_counter()
        deployments = ", ".join(f"('{m}', '{p}', 'dep-{i}')" for i, (m, p) in enumerate(DEPLOYMENTS))
        cursor.execute(f"CREATE TEMPORARY TABLE bench_dep (i serial, model text, provider text, dep text)")
        cursor.execute(f"INSERT INTO bench_dep (model, provider, dep) VALUES {deployments}")
        source = (f"(SELECT g, floor({keys} * power(random(), 3))::int AS k, (random() * {len(DEPLOYMENTS) - 1})::int + 1"
                  f" AS d, random() AS r, now() - random() * interval '{days} days' AS at, exp(3.7 + random() * 3.5)::int"
                  f" AS lat FROM generate_series(1, {rows}) AS g) AS s JOIN bench_dep AS dep ON dep.i = s.d")
        cursor.execute(insert_select(SpendLog, {
            "request_id": "'bench-' || s.g", "attempt": "1", "key_id": "s.k + 1", "key_hash": "md5('k' || s.k)",
            "team_id": f"'bench-team-' || (s.k % {TEAMS})", "user_id": "NULL", "model_alias": "dep.model",
            "deployment_id": "CASE WHEN s.r < 0.01 THEN '' ELSE dep.dep END",
            "provider": "CASE WHEN s.r < 0.01 THEN '' ELSE dep.provider END",
            "prompt_tokens": "(s.r * 2000)::int", "completion_tokens": "(s.r * 500)::int",
            "cost": "CASE WHEN s.r < 0.01 THEN 0 ELSE round((s.r * 0.02)::numeric, 8) END",
            "latency_ms": "CASE WHEN s.r < 0.01 THEN 0 ELSE s.lat END",
            "status": "CASE WHEN s.r < 0.01 THEN 'refused' WHEN s.r < 0.04 THEN 'failure' ELSE 'success' END",
            "error_type": "CASE WHEN s.r < 0.01 THEN 'budget_exceeded' WHEN s.r < 0.04 THEN 'rate_limit' ELSE '' END",
            "limit_level": "CASE WHEN s.r < 0.01 THEN 'key' ELSE '' END",
            "limit_kind": "CASE WHEN s.r < 0.01 THEN 'budget' ELSE '' END",
            "limit_current": "CASE WHEN s.r < 0.01 THEN 100 END", "limit_max": "CASE WHEN s.r < 0.01 THEN 100 END",
            "start_time": "s.at", "end_time": "s.at + s.lat * interval '1 millisecond'",
            "tags": "CASE WHEN s.r > 0.66 THEN jsonb_build_array('app-' || (s.g % 30)) ELSE '[]'::jsonb END"},
            source))
        timings["spend_rows_s"] = time.perf_counter() - started
        cursor.execute("ANALYZE")
    from apps.teams.rollup import spend_rollup

    started = time.perf_counter()
    spend_rollup()
    timings["rollup_s"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would: the covering indexes answer index-only
    timings["rollup_rows"] = SpendRollup.objects.count()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=400_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("DATABASE_URL must name a PostgreSQL database")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(seed(keys=args.keys, rows=args.rows, days=args.days))


if __name__ == "__main__":
    main()
