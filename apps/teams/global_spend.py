"""LiteLLM's /global/spend/*, /global/activity and /spend/tags answers, within the caller's scope.

LiteLLM reads these from views over the last 30 days (`MonthlyGlobalSpend`, `Last30dKeysBySpend`,
`Last30dModelsBySpend`, `DailyTagSpend`); here the same sums are grouped in SQL over the spend rows.
A caller who may not read everything gets the same answers over the rows it may see.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.teams import report_selectors as reads
from apps.teams import spend_refs
from apps.teams.selectors import Caller
from apps.teams.tag_selectors import tag_groups

TOP_TEAMS = 10  # LiteLLM's total_spend_per_team (and /global/activity/model) lists the ten biggest


def global_spend(caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """/global/spend: total spend of the last 30 days; the proxy has no budget of its own."""
    sums = reads.totals(reads.spend_rows(caller, reads.last_days_window()))
    return {"spend": float(sums["spend"] or 0), "max_budget": None}


def global_spend_logs(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/global/spend/logs: spend per day of the last 30 days (of one key with `api_key`)."""
    key = query.get("api_key")
    window = reads.last_days_window()
    rows = reads.spend_rows(caller, window, reads.SpendFilter(api_keys=(key,) if key else ()))
    days = reads.with_day(rows, window.zone).values("day").annotate(spend=reads.METRICS["spend"]).order_by("day")
    extra = {"api_key": spend_refs.key_hash_of(key)} if key else {}
    return [{"date": d["day"].isoformat(), "spend": float(d["spend"] or 0), **extra} for d in days]


def global_spend_keys(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/global/spend/keys: keys by spend in the last 30 days, the top `limit`."""
    rows = reads.spend_rows(caller, reads.last_days_window())
    top = reads.spend_by(rows, ["key_hash"], limit=query.get("limit"))
    keys = spend_refs.key_metadata(t["key_hash"] for t in top)
    return [{"api_key": t["key_hash"], "total_spend": float(t["total_spend"] or 0),
             "key_alias": keys[t["key_hash"]]["key_alias"] if t["key_hash"] in keys else None,
             "key_name": keys[t["key_hash"]]["key_name"] if t["key_hash"] in keys else None} for t in top]


def global_spend_models(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/global/spend/models: models by spend in the last 30 days, the top `limit` (10 by default)."""
    rows = reads.spend_rows(caller, reads.last_days_window()).exclude(model_alias="")
    top = reads.spend_by(rows, ["model_alias"], limit=query.get("limit") or 10)
    return [{"model": t["model_alias"], "total_spend": float(t["total_spend"] or 0),
             "total_tokens": int((t["prompt"] or 0) + (t["completion"] or 0))} for t in top]


def global_spend_teams(caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """/global/spend/teams: spend per day and team alias ("Unassigned" for none) in the last 30 days."""
    window = reads.last_days_window()
    rows = reads.spend_rows(caller, window)
    groups = list(reads.with_day(rows, window.zone).values("day", "team_id")
                  .annotate(total_spend=reads.METRICS["spend"]).order_by("day", "team_id"))
    aliases = spend_refs.team_aliases(g["team_id"] for g in groups)
    daily: dict[str, dict[str, Any]] = {}
    per_team: dict[str, float] = {}
    for group in groups:
        team = "Unassigned" if group["team_id"] is None else aliases.get(str(group["team_id"]), str(group["team_id"]))
        spend = float(group["total_spend"] or 0)
        day = daily.setdefault(group["day"].isoformat(), {"date": group["day"].isoformat()})
        day[team] = day.get(team, 0.0) + spend
        per_team[team] = per_team.get(team, 0.0) + spend
    ranked = sorted(per_team.items(), key=lambda item: (-item[1], item[0]))[:TOP_TEAMS]
    return {"daily_spend": list(daily.values()), "teams": sorted(per_team),
            "total_spend_per_team": [{"team_id": team, "total_spend": spend} for team, spend in ranked]}


def global_spend_provider(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/global/spend/provider: spend per provider between two dates."""
    rows = reads.spend_rows(caller, query["window"]).exclude(deployment_id="")
    return [{"provider": t["provider"] or "Unknown", "spend": float(t["total_spend"] or 0)}
            for t in reads.spend_by(rows, ["provider"])]


def global_activity(caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """/global/activity: requests and tokens per day between two dates (LiteLLM's `Jan 22` labels)."""
    window = query["window"]
    days = reads.active_days(reads.spend_rows(caller, window), window.zone, offset=0, limit=len(window.days()))[0]
    daily = [{"date": d["day"].strftime("%b %d"), "api_requests": d["api_requests"],
              "total_tokens": int((d["prompt_tokens"] or 0) + (d["completion_tokens"] or 0))} for d in reversed(days)]
    return {"daily_data": daily, "sum_api_requests": sum(d["api_requests"] for d in daily),
            "sum_total_tokens": sum(d["total_tokens"] for d in daily)}


def global_activity_model(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/global/activity/model: the same per model, the ten with the most requests."""
    window = query["window"]
    groups = (reads.with_day(reads.spend_rows(caller, window), window.zone).values("model_alias", "day")
              .annotate(**reads.METRICS).order_by("model_alias", "day"))
    models: dict[str, dict[str, Any]] = {}
    for group in groups:
        model = models.setdefault(group["model_alias"], {"model": group["model_alias"], "daily_data": [],
                                                         "sum_api_requests": 0, "sum_total_tokens": 0})
        tokens = int((group["prompt_tokens"] or 0) + (group["completion_tokens"] or 0))
        model["daily_data"].append({"model_group": group["model_alias"], "date": group["day"].strftime("%b %d"),
                                    "api_requests": group["api_requests"], "total_tokens": tokens})
        model["sum_api_requests"] += group["api_requests"]
        model["sum_total_tokens"] += tokens
    return sorted(models.values(), key=lambda m: (-m["sum_api_requests"], m["model"]))[:TOP_TEAMS]


def global_spend_tags(caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """/global/spend/tags: spend and requests per request tag between two dates (`tags=a,b` to pick)."""
    wanted = {t.strip() for t in (query.get("tags") or "").split(",") if t.strip()}
    picked = sorted(wanted) if wanted and "all-tags" not in wanted else []
    found = per_tag(caller, query, picked)
    return {"spend_per_tag": [{"name": t["tag"], "spend": float(t["spend"]), "log_count": t["api_requests"]}
                              for t in found]}


def spend_tags(caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """/spend/tags: requests and spend per request tag (optionally between two dates)."""
    return [{"individual_request_tag": t["tag"], "log_count": t["api_requests"], "total_spend": float(t["spend"])}
            for t in per_tag(caller, query)]


def global_spend_all_tag_names(caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """/global/spend/all_tag_names: every request tag the caller's rows carry."""
    return {"tag_names": sorted(t["tag"] for t in per_tag(caller, query))}


def per_tag(caller: Caller, query: Mapping[str, Any], tags: list[str] | None = None) -> list[dict[str, Any]]:
    window = query["window"]
    return tag_groups(reads.spend_rows(caller, window), window.zone, by=("tag",), tags=tags or ())
