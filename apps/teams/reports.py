"""/spend/logs and /spend/logs/v2: spend rows (or spend per day) in the caller's scope, as JSON or CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from apps.teams import report_selectors as reads
from apps.teams import spend_refs
from apps.teams.models import SpendLog
from apps.teams.representations import spend_log_json
from apps.teams.selectors import Caller
from apps.teams.spend_queries import Window


def spend_logs(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/spend/logs: with both dates and `summarize` (LiteLLM's default) spend per day, else the rows."""
    window: Window = query["window"]
    rows = reads.spend_rows(caller, window, log_filter(query))
    if query["summarize"] and query.get("start_date") and query.get("end_date"):
        return spend_per_day(rows, window)
    return logs_json(list(rows[: query["limit"]]))


def log_filter(query: Mapping[str, Any]) -> reads.SpendFilter:
    """LiteLLM's spend-log filters from a validated query."""
    return reads.SpendFilter(
        api_keys=(query["api_key"],) if query.get("api_key") else (), user_id=query.get("user_id"),
        team_ids=(query["team_id"],) if query.get("team_id") else None, request_id=query.get("request_id"),
        model=query.get("model"), key_alias=query.get("key_alias"), min_spend=query.get("min_spend"),
        max_spend=query.get("max_spend"),
        statuses=(query["status_filter"],) if query.get("status_filter") else ())


def logs_json(page: list[SpendLog]) -> list[dict[str, Any]]:
    """Rows as LiteLLM's LiteLLM_SpendLogs, `user` being the user's API id."""
    names = spend_refs.user_labels(row.user_id for row in page)
    return [{**spend_log_json(row), "user": names.get(row.user_id) if row.user_id else None} for row in page]


def spend_per_day(rows: QuerySet[SpendLog], window: Window) -> list[dict[str, Any]]:
    """LiteLLM's summarized /spend/logs: per local day its spend, per user, per model and per key hash.

    Every day of the window is listed, oldest first, days without spend with 0 (LiteLLM fills only
    the days after the last one with spend).
    """
    groups = list(reads.with_day(rows, window.zone).values("day", "key_hash", "user_id", "model_alias")
                  .annotate(spend=Sum("cost")).order_by("day"))
    names = spend_refs.user_labels(g["user_id"] for g in groups)
    days: dict[date, dict[str, Any]] = {d: {"startTime": d.isoformat(), "spend": Decimal(0), "users": {},
                                            "models": {}} for d in window.days()}
    for group in groups:
        day = days.setdefault(group["day"], {"startTime": group["day"].isoformat(), "spend": Decimal(0),
                                             "users": {}, "models": {}})
        spend = group["spend"] or Decimal(0)
        user = names.get(group["user_id"]) if group["user_id"] is not None else None
        day["spend"] += spend
        day[group["key_hash"]] = day.get(group["key_hash"], Decimal(0)) + spend
        day["users"][user] = day["users"].get(user, Decimal(0)) + spend
        day["models"][group["model_alias"]] = day["models"].get(group["model_alias"], Decimal(0)) + spend
    return [as_floats(days[d]) for d in sorted(days)]


def as_floats(value: Any) -> Any:
    """Decimals (nested in dicts) as JSON numbers."""
    if isinstance(value, dict):
        return {k: as_floats(v) for k, v in value.items()}
    return float(value) if isinstance(value, Decimal) else value


def spend_logs_page(caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """/spend/logs/v2: one page of rows, newest first, with the count of all that match."""
    rows = reads.spend_rows(caller, query["window"], log_filter(query))
    page, size = query["page"], query["page_size"]
    total = rows.count()
    return {"data": logs_json(list(rows[(page - 1) * size: page * size])), "total": total, "page": page,
            "page_size": size, "total_pages": -(-total // size)}


def as_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV with a header line (empty string for no rows)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()
