"""/user/daily/activity, /team/daily/activity, /tag/daily/activity: LiteLLM's SpendAnalyticsPaginatedResponse.

A page holds whole days, newest first (`page_size` days with activity), each with its metrics and its
breakdown by model, model group, provider, API key and entity (user, team or tag). The metadata totals
are one SQL aggregate over the whole range, not the sum of the page, and `total_pages` counts days.
(LiteLLM pages over its daily roll-up rows, so one day can be split across two pages and only the
page's rows are summed.) `models` and `model_groups` both name the model the client asked for.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import Q, QuerySet

from apps.core.errors import NotFound
from apps.teams import report_selectors as reads
from apps.teams import spend_refs
from apps.teams.models import SpendLog
from apps.teams.selectors import Caller
from apps.teams.spend_queries import Window, split_ids
from apps.teams.tag_selectors import tag_groups, tagged_rows

GROUP_COLUMNS = ("model_alias", "provider", "key_hash")  # what a day's breakdown is grouped by, beside its entity
SUMMED = ("spend", "prompt_tokens", "completion_tokens", "cache_read_input_tokens", "api_requests",
          "successful_requests")


class SpendMetrics(TypedDict):
    spend: float
    prompt_tokens: int
    completion_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    total_tokens: int
    successful_requests: int
    failed_requests: int
    api_requests: int


class DailySpendMetadata(TypedDict):
    total_spend: float
    total_prompt_tokens: int
    total_completion_tokens: int
    total_tokens: int
    total_api_requests: int
    total_successful_requests: int
    total_failed_requests: int
    total_cache_read_input_tokens: int
    total_cache_creation_input_tokens: int
    page: int
    total_pages: int
    has_more: bool


class SpendAnalyticsPaginatedResponse(TypedDict):
    results: list[dict[str, Any]]
    metadata: DailySpendMetadata


@dataclass(frozen=True, slots=True)
class Entity:
    """The breakdown's `entities`: which row column names one, its label and its metadata."""

    column: str
    label: Callable[[Sequence[Any]], Mapping[Any, str]]
    metadata: Callable[[Sequence[str]], Mapping[str, dict[str, Any]]]


def no_metadata(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {}


def team_metadata(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {team: {"team_alias": alias} for team, alias in spend_refs.team_aliases(labels).items()}


USER = Entity("user_id", spend_refs.user_labels, no_metadata)
TAG = Entity("tag", lambda values: {v: str(v) for v in values}, no_metadata)
TEAM = Entity("team_id", lambda values: {v: str(v) for v in values if v is not None}, team_metadata)


def metrics(sums: Mapping[str, Any]) -> SpendMetrics:
    """LiteLLM's SpendMetrics from a row of METRICS sums (None where nothing was summed)."""
    got = {name: sums.get(name) or 0 for name in SUMMED}
    return SpendMetrics(spend=float(got["spend"]), prompt_tokens=int(got["prompt_tokens"]),
                        completion_tokens=int(got["completion_tokens"]),
                        cache_read_input_tokens=int(got["cache_read_input_tokens"]), cache_creation_input_tokens=0,
                        total_tokens=int(got["prompt_tokens"]) + int(got["completion_tokens"]),
                        successful_requests=int(got["successful_requests"]),
                        failed_requests=int(got["api_requests"]) - int(got["successful_requests"]),
                        api_requests=int(got["api_requests"]))


def add(into: dict[str, Any], row: Mapping[str, Any]) -> None:
    for name in SUMMED:
        into[name] = into.get(name, 0) + (row[name] or 0)


class Breakdown:
    """One day's breakdown, folded from its (model, provider, key, entity) groups' SQL sums."""

    def __init__(self, keys: Mapping[str, spend_refs.KeyMeta]) -> None:
        self.keys = keys
        self.parts: dict[str, dict[str, dict[str, Any]]] = {"models": {}, "providers": {}, "entities": {}}
        self.api_keys: dict[str, dict[str, Any]] = {}

    def key_meta(self, token: str) -> dict[str, Any]:
        meta = self.keys.get(token)
        return {"key_alias": meta["key_alias"] if meta else None, "team_id": meta["team_id"] if meta else None}

    def add(self, part: str, name: str, token: str, row: Mapping[str, Any], metadata: dict[str, Any]) -> None:
        entry = self.parts[part].setdefault(name, {"sums": {}, "metadata": metadata, "keys": {}})
        add(entry["sums"], row)
        add(entry["keys"].setdefault(token, {}), row)

    def add_key(self, token: str, row: Mapping[str, Any]) -> None:
        add(self.api_keys.setdefault(token, {}), row)

    def json(self) -> dict[str, Any]:
        def keyed(sums_by_key: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
            return {t: {"metrics": metrics(s), "metadata": self.key_meta(t)} for t, s in sums_by_key.items()}

        parts = {part: {name: {"metrics": metrics(e["sums"]), "metadata": e["metadata"],
                               "api_key_breakdown": keyed(e["keys"])} for name, e in entries.items()}
                 for part, entries in self.parts.items()}
        return {"mcp_servers": {}, "models": parts["models"], "model_groups": parts["models"],
                "providers": parts["providers"], "endpoints": {}, "api_keys": keyed(self.api_keys),
                "entities": parts["entities"]}


@dataclass(frozen=True, slots=True)
class Source:
    """Where an answer's SQL sums come from: spend rows, or spend rows expanded per tag."""

    days: Callable[[int, int], tuple[list[dict[str, Any]], int]]  # (offset, limit) -> days newest first, count
    groups: Callable[[Sequence[Any]], list[dict[str, Any]]]  # sums per day, GROUP_COLUMNS and the entity
    totals: Callable[[], dict[str, Any]]  # sums over the whole range, each row once


def row_source(rows: QuerySet[SpendLog], window: Window, entity: Entity) -> Source:
    zone = window.zone
    return Source(days=lambda offset, limit: reads.active_days(rows, zone, offset=offset, limit=limit),
                  groups=lambda days: reads.day_groups(rows, zone, days, (*GROUP_COLUMNS, entity.column)),
                  totals=lambda: reads.totals(rows))


def tag_source(rows: QuerySet[SpendLog], window: Window, tags: Sequence[str]) -> Source:
    """Per tag, as LiteLLM's daily tag table: a row with two tags counts on each (totals count it once)."""
    zone = window.zone

    def days(offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        found = sorted(tag_groups(rows, zone, by=("day",), tags=tags), key=lambda d: d["day"], reverse=True)
        return found[offset:offset + limit], len(found)

    def groups(listed: Sequence[Any]) -> list[dict[str, Any]]:
        if not listed:
            return []
        return tag_groups(reads.within_days(rows, zone, listed), zone, by=("day", *GROUP_COLUMNS, "tag"), tags=tags)

    return Source(days=days, groups=groups, totals=lambda: reads.totals(tagged_rows(rows, zone, tags)))


def breakdowns(groups: list[dict[str, Any]], entity: Entity) -> dict[Any, Breakdown]:
    """Each day's Breakdown, folded from the day's grouped sums."""
    keys = spend_refs.key_metadata({g["key_hash"] for g in groups})
    labels = entity.label([g[entity.column] for g in groups])
    entity_meta = entity.metadata(list(labels.values()))
    found: dict[Any, Breakdown] = {}
    for group in groups:
        day = found.setdefault(group["day"], Breakdown(keys))
        token = group["key_hash"]
        label = labels.get(group[entity.column]) or "Unassigned"
        if group["model_alias"]:
            day.add("models", group["model_alias"], token, group, {})
        day.add("providers", group["provider"] or "unknown", token, group, {})
        day.add("entities", label, token, group, entity_meta.get(label, {}))
        day.add_key(token, group)
    return found


def daily_activity(source: Source, *, page: int, page_size: int, entity: Entity) -> SpendAnalyticsPaginatedResponse:
    """LiteLLM's paginated daily activity over already scoped and filtered sums."""
    days, day_count = source.days((page - 1) * page_size, page_size)
    found = breakdowns(source.groups([d["day"] for d in days]), entity)
    results = [{"date": d["day"].isoformat(), "metrics": metrics(d), "breakdown": found[d["day"]].json()}
               for d in days]
    return SpendAnalyticsPaginatedResponse(results=results, metadata=activity_metadata(
        source.totals(), page=page, total_pages=-(-day_count // page_size), has_more=page * page_size < day_count))


def activity_metadata(sums: Mapping[str, Any], *, page: int, total_pages: int, has_more: bool) -> DailySpendMetadata:
    total = metrics(sums)
    return DailySpendMetadata(
        total_spend=total["spend"], total_prompt_tokens=total["prompt_tokens"],
        total_completion_tokens=total["completion_tokens"], total_tokens=total["total_tokens"],
        total_api_requests=total["api_requests"], total_successful_requests=total["successful_requests"],
        total_failed_requests=total["failed_requests"], total_cache_read_input_tokens=total["cache_read_input_tokens"],
        total_cache_creation_input_tokens=0, page=page, total_pages=total_pages, has_more=has_more)


def activity_filter(query: Mapping[str, Any], **more: Any) -> reads.SpendFilter:
    return reads.SpendFilter(api_keys=(query["api_key"],) if query.get("api_key") else (), model=query.get("model"),
                             **more)


def user_daily_activity(caller: Caller, query: Mapping[str, Any]) -> SpendAnalyticsPaginatedResponse:
    """/user/daily/activity: proxy admins and viewers see every user, anyone else their own spend."""
    rows = reads.spend_rows(caller, query["window"], activity_filter(query))
    if not caller.reads_all:
        rows = rows.filter(Q(user_id=caller.user_id) if caller.user_id is not None else Q(key_id=caller.key_id))
    return daily_activity(row_source(rows, query["window"], USER), page=query["page"], page_size=query["page_size"],
                          entity=USER)


def team_daily_activity(caller: Caller, query: Mapping[str, Any]) -> SpendAnalyticsPaginatedResponse:
    """/team/daily/activity: a team admin sees its teams' spend, a member its own spend in its teams.

    A team the caller is not in is 404 whether or not it exists (as LiteLLM answers non-members).
    """
    team_ids = split_ids(query.get("team_ids"))
    if not caller.reads_all:
        mine = {str(team) for team in caller.member_team_ids}
        for team in team_ids or ():
            if team not in mine:
                raise NotFound(f"Team '{team}' not found.", param="team_ids")
        team_ids = tuple(sorted(mine)) if team_ids is None else team_ids
    where = activity_filter(query, team_ids=team_ids, exclude_team_ids=split_ids(query.get("exclude_team_ids")) or ())
    rows = reads.spend_rows(caller, query["window"], where)
    return daily_activity(row_source(rows, query["window"], TEAM), page=query["page"], page_size=query["page_size"],
                          entity=TEAM)


def tag_daily_activity(caller: Caller, query: Mapping[str, Any]) -> SpendAnalyticsPaginatedResponse:
    """/tag/daily/activity: spend per request tag (`tags=a,b`, else every tag) in the caller's rows."""
    rows = reads.spend_rows(caller, query["window"], activity_filter(query))
    source = tag_source(rows, query["window"], split_ids(query.get("tags")) or ())
    return daily_activity(source, page=query["page"], page_size=query["page_size"], entity=TAG)
