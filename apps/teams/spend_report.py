"""/global/spend/report: spend per day and team, per key, or per day and key, model or user.

LiteLLM's shapes where LiteLLM has the grouping: `group_by=team` (its default) gives per day the teams'
spend with a breakdown per model and key; `group_by=api_key`, or an `api_key` / `internal_user_id`
filter, gives per key its cost and tokens with a breakdown per model. Tollgate's own groupings
(`key`, `model`, `user`, `day`), and every grouping as `format=csv`, give flat rows per day.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from apps.teams import report_selectors as reads
from apps.teams import spend_refs
from apps.teams.models import SpendLog
from apps.teams.representations import money
from apps.teams.selectors import Caller
from apps.teams.spend_queries import Window

FLAT_COLUMNS = {"team": ("team_id",), "key": ("key_hash",), "model": ("model_alias",), "user": ("user_id",),
                "day": ()}
SUMS = {"spend": Sum("cost"), "requests": Count("id"), "prompt_tokens": Sum("prompt_tokens"),
        "completion_tokens": Sum("completion_tokens")}


def spend_report(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report the query asks for, over the caller's visible rows."""
    window: Window = query["window"]
    where = reads.SpendFilter(api_keys=(query["api_key"],) if query.get("api_key") else (),
                              user_id=query.get("internal_user_id"),
                              team_ids=(query["team_id"],) if query.get("team_id") else None)
    rows = reads.spend_rows(caller, window, where)
    group_by = query["group_by"]
    if query["format"] == "json" and (group_by == "api_key" or query.get("api_key") or query.get("internal_user_id")):
        return per_key(rows)
    if query["format"] == "json" and group_by == "team":
        return per_day_and_team(rows, window)
    return flat(rows, window, "key" if group_by == "api_key" else group_by)


def per_key(rows: QuerySet[SpendLog]) -> list[dict[str, Any]]:
    """LiteLLM's report per api_key: its cost and tokens, and the same per model, highest cost first."""
    keys: dict[str, dict[str, Any]] = {}
    for group in reads.spend_by(rows, ["key_hash", "model_alias"]):
        key = keys.setdefault(group["key_hash"], {"api_key": group["key_hash"], "total_cost": Decimal(0),
                                                  "total_input_tokens": 0, "total_output_tokens": 0,
                                                  "model_details": []})
        key["total_cost"] += group["total_spend"] or 0
        key["total_input_tokens"] += group["prompt"] or 0
        key["total_output_tokens"] += group["completion"] or 0
        key["model_details"].append({"model": group["model_alias"], "total_cost": money(group["total_spend"]),
                                     "total_input_tokens": group["prompt"], "total_output_tokens": group["completion"]})
    ranked = sorted(keys.values(), key=lambda k: (-k["total_cost"], k["api_key"]))
    return [{**key, "total_cost": float(key["total_cost"])} for key in ranked]


def per_day_and_team(rows: QuerySet[SpendLog], window: Window) -> list[dict[str, Any]]:
    """LiteLLM's report per day: each team's spend ("Unassigned Team" for none), per model and key within."""
    groups = list(reads.with_day(rows, window.zone).values("day", "team_id", "model_alias", "key_hash")
                  .annotate(**SUMS).order_by("day", "team_id", "model_alias", "key_hash"))
    aliases = spend_refs.team_aliases(g["team_id"] for g in groups)
    days: dict[str, dict[str, dict[str, Any]]] = {}
    for group in groups:
        name = "Unassigned Team" if group["team_id"] is None else aliases.get(str(group["team_id"]),
                                                                              str(group["team_id"]))
        team = days.setdefault(group["day"].isoformat(), {}).setdefault(
            name, {"team_name": name, "total_spend": Decimal(0), "metadata": []})
        team["total_spend"] += group["spend"] or 0
        team["metadata"].append({"model": group["model_alias"], "api_key": group["key_hash"],
                                 "spend": money(group["spend"]),
                                 "total_tokens": (group["prompt_tokens"] or 0) + (group["completion_tokens"] or 0)})
    return [{"group_by_day": day, "teams": [{**t, "total_spend": float(t["total_spend"])} for t in teams.values()]}
            for day, teams in days.items()]


def flat(rows: QuerySet[SpendLog], window: Window, group_by: str) -> list[dict[str, Any]]:
    """Tollgate's rows: per local day and group, spend, requests and tokens."""
    columns = FLAT_COLUMNS[group_by]
    groups = list(reads.with_day(rows, window.zone).values("day", *columns).annotate(**SUMS).order_by("day", *columns))
    labels = flat_labels(group_by, groups)
    report = []
    for group in groups:
        entry: dict[str, Any] = {"group_by_day": group["day"].isoformat()}
        if group_by == "team":
            team = None if group["team_id"] is None else str(group["team_id"])
            entry.update(team_id=team, team_alias=labels.get(team))
        elif group_by == "key":
            entry.update(api_key=group["key_hash"], key_alias=labels.get(group["key_hash"]))
        elif group_by == "model":
            entry.update(model=group["model_alias"])
        elif group_by == "user":
            entry.update(user_id=labels.get(group["user_id"]))
        entry.update(spend=money(group["spend"]), requests=group["requests"], prompt_tokens=group["prompt_tokens"],
                     completion_tokens=group["completion_tokens"])
        report.append(entry)
    return report


def flat_labels(group_by: str, groups: list[dict[str, Any]]) -> Mapping[Any, str | None]:
    if group_by == "team":
        return spend_refs.team_aliases(g["team_id"] for g in groups)
    if group_by == "key":
        return {token: meta["key_alias"] for token, meta in spend_refs.key_metadata(g["key_hash"] for g in groups).items()}
    if group_by == "user":
        return spend_refs.user_labels(g["user_id"] for g in groups)
    return {}
