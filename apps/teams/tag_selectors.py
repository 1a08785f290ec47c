"""Spend per request tag, summed in SQL: each row's JSON list of tags is expanded by the database
(`jsonb_array_elements_text` on PostgreSQL, `json_each` on SQLite), so a row with two tags counts for each."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from apps.teams.models import SpendLog
from apps.teams.report_selectors import with_day

# The same sums as report_selectors.METRICS, over the expanded rows.
SUMS = (("spend", "sum(s.cost)"), ("prompt_tokens", "sum(s.prompt_tokens)"),
        ("completion_tokens", "sum(s.completion_tokens)"), ("cache_read_input_tokens", "sum(s.cached_tokens)"),
        ("api_requests", "count(*)"), ("successful_requests", "sum(CASE WHEN s.status = 'success' THEN 1 ELSE 0 END)"))
ROW_COLUMNS = ("id", "day", "model_alias", "provider", "key_hash", "cost", "prompt_tokens", "completion_tokens",
               "cached_tokens", "status", "tags")


def expanded(rows: QuerySet[SpendLog], zone: tzinfo, tags: Sequence[str]) -> tuple[str, list[Any], str]:
    """A FROM clause with one line per (row, tag), only the given tags if any; its params; the tag's SQL."""
    sql, params = with_day(rows, zone).values(*ROW_COLUMNS).query.sql_with_params()
    if connection.vendor == "postgresql":
        tag, expand = "t.tag", "CROSS JOIN LATERAL jsonb_array_elements_text(s.tags) AS t(tag)"
    else:
        tag, expand = "t.value", "CROSS JOIN json_each(s.tags) AS t"
    where = f" WHERE {tag} IN ({', '.join(['%s'] * len(tags))})" if tags else ""
    return f"FROM ({sql}) AS s {expand}{where}", [*params, *tags], tag


def tag_groups(rows: QuerySet[SpendLog], zone: tzinfo, *, by: Sequence[str],
               tags: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The METRICS sums per `by` (row columns, `day`, or `tag`) over the expanded rows, highest spend first."""
    source, params, tag = expanded(rows, zone, tags)
    columns = [tag if name == "tag" else f"s.{name}" for name in by]
    select = ", ".join([*(f"{c} AS {n}" for c, n in zip(columns, by, strict=True)),
                        *(f"{sql} AS {name}" for name, sql in SUMS)])
    group = f" GROUP BY {', '.join(columns)}" if columns else ""
    order = ", ".join(["spend DESC", *columns])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} {source}{group} ORDER BY {order}", params)
        names = [column[0] for column in cursor.description]
        found = [dict(zip(names, line, strict=True)) for line in cursor.fetchall()]
    for group_row in found:
        group_row["spend"] = Decimal(str(group_row["spend"] or 0))
        if "day" in group_row:
            group_row["day"] = as_date(group_row["day"])
    return found


def tagged_rows(rows: QuerySet[SpendLog], zone: tzinfo, tags: Sequence[str] = ()) -> QuerySet[SpendLog]:
    """The rows carrying any of the tags (any tag at all when none is given), each once."""
    source, params, _ = expanded(rows, zone, tags)
    return rows.filter(pk__in=RawSQL(f"SELECT s.id {source}", params))


def as_date(value: Any) -> date:
    """A day from raw SQL (a date on PostgreSQL, text on SQLite)."""
    return value if isinstance(value, date) else datetime.strptime(str(value), "%Y-%m-%d").date()
