"""Spend events into PostgreSQL: COPY a batch into a staging table, then one statement stores it.

The records are decoded (orjson) straight into COPY rows of a temporary table, and one statement
inserts the attempts not stored yet (`ON CONFLICT (request_id, attempt) DO NOTHING`) and adds the cost
of exactly the inserted rows to the spend column of every key, user, team, membership, organization and
end user (and the proxy budget's);
the caller's transaction holds both. Building Django model instances cost the flusher about 40 times
this CPU. Handing the server the records as one JSON array (`jsonb_to_recordset`) cost the flusher
less but PostgreSQL about 40% more, and PostgreSQL is not the niced process (TOLLGATE_CELERY_NICE).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cache

from django.db import connection

from apps.core import jsonutil
from apps.teams.models import EndUser, Organization, ProxyBudget, SpendLog, Team, TeamMembership, User, VirtualKey

logger = logging.getLogger("tollgate.spend")

STAGE = "tollgate_spend_stage"  # per session; emptied at every commit
# Each SpendEvent field and its SQL type; a record's unknown fields are ignored, a missing one is NULL.
EVENT_FIELDS = (
    ("request_id", "text"), ("attempt", "integer"), ("key_id", "bigint"), ("key_hash", "text"),
    ("team_id", "text"), ("user_id", "text"), ("organization_id", "text"), ("model_alias", "text"),
    ("deployment_id", "text"), ("provider", "text"), ("call_type", "text"), ("prompt_tokens", "integer"),
    ("completion_tokens", "integer"), ("cached_tokens", "integer"), ("cost_nanos", "numeric"),
    ("latency_ms", "integer"), ("ttft_ms", "integer"), ("status", "text"), ("error_type", "text"),
    ("start_time", "double precision"), ("end_time", "double precision"), ("tags", "jsonb"), ("end_user", "text"),
    ("limit_level", "text"), ("limit_kind", "text"), ("limit_current", "numeric"), ("limit_max", "numeric"))
FIELD_NAMES = tuple(name for name, _ in EVENT_FIELDS)
COPY = f"COPY {STAGE} ({', '.join(FIELD_NAMES)}) FROM STDIN"
PLAIN = (str, int, float, type(None))  # what COPY takes as it is; anything else goes as its str(), for the server to judge
# SpendLog columns filled from something other than the event field of the same name.
DERIVED = {"cost": "e.cost_nanos / 1000000000", "error_type": "left(e.error_type, 100)",
           "start_time": "to_timestamp(e.start_time)", "end_time": "to_timestamp(e.end_time)",
           "end_user": "coalesce(e.end_user, '')", "limit_level": "coalesce(e.limit_level, '')",
           "limit_kind": "coalesce(e.limit_kind, '')"}
LOG_COLUMNS = ("request_id", "attempt", "key_id", "key_hash", "team_id", "user_id", "organization_id",
               "model_alias", "deployment_id", "provider", "call_type", "prompt_tokens", "completion_tokens",
               "cached_tokens", "cost", "latency_ms", "ttft_ms", "status", "error_type", "start_time", "end_time",
               "tags", "end_user", "limit_level", "limit_kind", "limit_current", "limit_max")
# (CTE name, owner table, {owner column: inserted rows' column}) for every spend column a row adds to.
OWNERS = (("by_key", VirtualKey, {"id": "key_id"}), ("by_user", User, {"username": "user_id"}),
          ("by_team", Team, {"team_id": "team_id"}), ("by_org", Organization, {"organization_id": "organization_id"}),
          ("by_member", TeamMembership, {"team_id": "team_id", "user_id": "user_id"}))


# A key with per-model budgets also adds each model's cost to its `model_spend` ({"gpt-4o": 1.25}); in the
# same UPDATE as its spend, since PostgreSQL applies only one of two updates of a row in one statement.
KEY_MODEL_SPEND = (
    "model_spend = CASE WHEN t.model_max_budget = '{}'::jsonb THEN t.model_spend ELSE t.model_spend || "
    "(SELECT jsonb_object_agg(m.model_alias, coalesce((t.model_spend ->> m.model_alias)::numeric, 0) + m.total) "
    "FROM (SELECT model_alias, sum(cost) AS total FROM inserted WHERE key_id = t.id AND cost <> 0 "
    "GROUP BY model_alias) AS m) END")
EXTRA_SETS = {"by_key": KEY_MODEL_SPEND}


def end_user_upsert(table: str) -> str:
    """A CTE adding the inserted rows' cost to each end user's spend, creating the end user on first use."""
    return (f"by_end_user AS (INSERT INTO {table} (user_id, alias, spend, allowed_model_region, default_model,"
            f" blocked, created_at) SELECT end_user, '', sum(cost), '', '', false, now() FROM inserted"
            f" WHERE end_user <> '' GROUP BY end_user"
            f" ON CONFLICT (user_id) DO UPDATE SET spend = {table}.spend + excluded.spend)")


def owner_update(name: str, table: str, match: Mapping[str, str]) -> str:
    """A CTE adding the inserted rows' cost, summed per owner, to the owner's spend column."""
    listed = ", ".join(match.values())
    present = " AND ".join(f"{column} IS NOT NULL" for column in match.values())
    same = " AND ".join(f"t.{owner} = s.{column}" for owner, column in match.items())
    extra = f", {EXTRA_SETS[name]}" if name in EXTRA_SETS else ""
    return (f"{name} AS (UPDATE {table} AS t SET spend = t.spend + s.total{extra} FROM (SELECT {listed}, sum(cost) AS total"
            f" FROM inserted WHERE {present} AND cost <> 0 GROUP BY {listed}) AS s WHERE {same})")


def proxy_update(table: str) -> str:
    """A CTE adding every inserted row's cost to the proxy budget's spend (a no-op without its row)."""
    return (f"by_proxy AS (UPDATE {table} AS t SET spend = t.spend + s.total FROM (SELECT sum(cost) AS total"
            f" FROM inserted WHERE cost <> 0) AS s WHERE s.total IS NOT NULL)")


@cache
def stage_statement() -> str:
    """Create this session's staging table unless it exists; its rows go at every commit."""
    columns = ", ".join(f"{name} {kind}" for name, kind in EVENT_FIELDS)
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ({columns}) ON COMMIT DELETE ROWS"


@cache
def store_statement() -> str:
    """INSERT the staged attempts not stored yet and add their cost to their owners; yields the count."""
    quote = connection.ops.quote_name
    values = ", ".join(DERIVED.get(column, f"e.{column}") for column in LOG_COLUMNS)
    updates = ",\n".join([*(owner_update(name, quote(model._meta.db_table), match) for name, model, match in OWNERS),
                           end_user_upsert(quote(EndUser._meta.db_table)),
                           proxy_update(quote(ProxyBudget._meta.db_table))])
    return (f"WITH inserted AS (INSERT INTO {quote(SpendLog._meta.db_table)} ({', '.join(LOG_COLUMNS)})\n"
            f"SELECT {values} FROM {STAGE} AS e\n"
            f"ON CONFLICT (request_id, attempt) DO NOTHING RETURNING key_id, user_id, team_id, organization_id, cost, model_alias, end_user),\n"
            f"{updates}\nSELECT count(*) FROM inserted")


def stage_row(record: bytes) -> list[object] | None:
    """The staging row of one buffered record, None when it is not a JSON object."""
    try:
        data = jsonutil.loads(record)
    except jsonutil.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    tags = data.get("tags")
    data["tags"] = jsonutil.dumps(tags).decode() if tags else "[]"
    return [value if type(value) in PLAIN else str(value) for value in map(data.get, FIELD_NAMES)]


def spend_insert_batch(records: Sequence[bytes]) -> tuple[int, int]:
    """Store the records' new attempts and their spend (inside the caller's transaction).

    Returns (attempts stored, records dropped as not JSON objects). A value the server rejects raises
    DataError or IntegrityError.
    """
    dropped = 0
    with connection.cursor() as cursor:
        cursor.execute(stage_statement())
        with connection.wrap_database_errors, cursor.cursor.copy(COPY) as copy:
            for record in records:
                row = stage_row(record)
                if row is None:
                    dropped += 1
                    logger.error("dropping a malformed spend event of %d bytes", len(record))
                else:
                    copy.write_row(row)
        cursor.execute(store_statement())
        found = cursor.fetchone()
    return (int(found[0]) if found else 0), dropped
