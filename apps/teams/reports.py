"""/spend/logs and /global/spend/report: spend rows and totals within the caller's scope, as JSON or CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from apps.teams import selectors
from apps.teams.auth import hash_key
from apps.teams.representations import money, spend_log_json
from apps.teams.selectors import Caller


def spend_logs(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Spend rows, newest first, filtered by key, user, team or request id."""
    rows = selectors.spend_logs(caller, start=query.get("start_date"), end=query.get("end_date"))
    if query.get("api_key"):
        ref = query["api_key"]
        rows = rows.filter(key_hash=hash_key(ref) if ref.startswith("sk-") else ref)
    if query.get("user_id"):
        rows = rows.filter(user_id=query["user_id"])
    if query.get("team_id"):
        rows = rows.filter(team_id=query["team_id"])
    if query.get("request_id"):
        rows = rows.filter(request_id=query["request_id"])
    return [spend_log_json(row) for row in rows[: query["limit"]]]


def spend_report(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Totals per day and per team, key, model or user."""
    group_by = query["group_by"]
    rows = selectors.spend_report(caller, group_by=group_by, start=query.get("start_date"),
                                  end=query.get("end_date"))
    labels = report_labels(group_by, rows)
    report = []
    for row in rows:
        entry: dict[str, Any] = {"group_by_day": row["day"].isoformat()}
        if group_by == "team":
            entry.update(team_id=row["team_id"], team_alias=labels.get(row["team_id"]))
        elif group_by == "key":
            entry.update(api_key=row["key_hash"], key_alias=labels.get(row["key_id"]) or None)
        elif group_by == "model":
            entry.update(model=row["model_alias"])
        elif group_by == "user":
            entry.update(user_id=row["user_id"])
        entry.update(spend=money(row["spend"]), requests=row["requests"], prompt_tokens=row["prompt_tokens"],
                     completion_tokens=row["completion_tokens"])
        report.append(entry)
    return report


def report_labels(group_by: str, rows: list[dict[str, Any]]) -> dict[Any, str]:
    if group_by == "team":
        return selectors.team_aliases({r["team_id"] for r in rows if r["team_id"] is not None})
    if group_by == "key":
        return selectors.key_aliases({r["key_id"] for r in rows if r["key_id"] is not None})
    return {}


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
