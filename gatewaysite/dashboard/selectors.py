"""What the dashboard pages show, each read scoped to the viewer's teams and summed in SQL."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, DateTimeField, Q, QuerySet, Sum
from django.db.models.functions import Trunc

from apps.teams.models import SpendLog, SpendTagGrain, SpendTagRollup, Team, VirtualKey
from apps.teams.rollup import RollupMarks
from gatewaysite.dashboard.cells import Cell, SpanCells, local_day, series, total
from gatewaysite.dashboard.ranges import Cut, cut, split_rows, within
from gatewaysite.dashboard.span import Span, SpanInvalid, period_of
from gatewaysite.dashboard.viewer import Viewer

TOP = 10
KEYS_PAGE_SIZE = 50
TEAMS_LISTED = 50  # teams against their budgets, dearest first
COUNT_CAP = 10_000


@dataclass(frozen=True, slots=True)
class Ranked:
    """One row of a top list or breakdown: its label, spend and requests."""

    name: str
    label: str
    cost: Decimal
    requests: int
    max_budget: Decimal | None = None
    budget_spend: Decimal | None = None  # spend in the current budget window

    @property
    def budget_percent(self) -> int | None:
        """The current window's spend as a share of the budget (may pass 100), None without a budget."""
        if self.max_budget is None or self.budget_spend is None:
            return None
        return round(self.budget_spend / self.max_budget * 100) if self.max_budget else 100


def spend_over_time(found: SpanCells, span: Span, *, team_labels: dict[str, str],
                    tags: Mapping[tuple[Any, ...], Cell]) -> dict[str, Any]:
    """Cost per period by team (named by alias), model, provider and tag (`tags`: tag_periods), for the charts."""
    periods = span.periods()
    totals = {key[0]: cell.cost for key, cell in found.deployments(("period",)).items()}
    teams = series(found.top_team_periods, periods, totals=totals)
    return {"periods": [p.isoformat() for p in periods],
            "team": {team_labels.get(team, team): values for team, values in teams.items()},
            "model": series(found.deployments(("model", "period")), periods),
            "provider": series(found.deployments(("provider", "period")), periods),
            "tag": series(tags, periods)}


def summary(found: SpanCells) -> Cell:
    """Totals over the whole span (every row, not a page of them)."""
    return total(found.by_team.values())


def deployments(found: SpanCells) -> list[dict[str, Any]]:
    """Requests, error rate and p50/p95 latency per deployment, busiest first."""
    rows = [{"deployment": d, "model": m, "provider": p, "requests": c.requests, "failures": c.counts["failures"],
             "error_rate": c.error_rate, "p50": c.percentile(0.5), "p95": c.percentile(0.95), "cost": c.cost}
            for (d, m, p), c in found.deployments(("deployment", "model", "provider")).items() if d and c.requests]
    return sorted(rows, key=lambda r: (-r["requests"], r["deployment"]))


def top_models(found: SpanCells) -> list[Ranked]:
    ranked = sorted(found.deployments(("model",)).items(), key=lambda item: (-item[1].cost, item[0]))[:TOP]
    return [Ranked(name=m, label=m or "(none)", cost=c.cost, requests=c.requests) for (m,), c in ranked]


def teams_against_budgets(viewer: Viewer, found: SpanCells) -> list[Ranked]:
    """The viewer's teams by spend in the span, each with its budget and the spend of its current window."""
    by_team: dict[str, Cell] = {str(key[0]): cell for key, cell in found.by_team.items()}
    teams = Team.objects.filter(viewer.team_filter()).only("team_id", "team_alias", "spend", "max_budget")
    if viewer.sees_all:  # every team with spend: only the TEAMS_LISTED dearest are listed, so only they are read
        dearest = sorted(by_team, key=lambda t: (-by_team[t].cost, t))[:TEAMS_LISTED]
        named = {t.team_id: t for t in teams.filter(team_id__in=dearest)}
    else:
        named = {t.team_id: t for t in teams}
    rows = []
    ranked = sorted(set(by_team) | set(named), key=lambda t: (-(by_team[t].cost if t in by_team else 0), t))
    for team_id in ranked[:TEAMS_LISTED]:
        team, cell = named.get(team_id), by_team.get(team_id, Cell())
        rows.append(Ranked(name=team_id, label=(team.team_alias if team else "") or team_id or "(no team)",
                           cost=cell.cost, requests=cell.requests, max_budget=team.max_budget if team else None,
                           budget_spend=team.spend if team else None))
    return rows


def tag_cells(viewer: Viewer, span: Span, marks: RollupMarks) -> tuple[list[QuerySet[Any]], Cut]:
    """The tag roll-up's cells of the span that the viewer may see, and how the span was cut (at its ends and each
    local period's start). Whole UTC days come from daily cells and the edge hours from hourly ones (staff's from
    the all-teams grains); only hourly per-team cells while the grains lag the mark (an upgrade's overlap,
    SpendRollupMark.tag_grains_id)."""
    found = cut(span.boundaries(by_period=True), daily=marks.tag_grains_current)
    grains = SpendTagGrain.objects.filter(viewer.team_filter())
    hourly: QuerySet[Any]
    hours = found.hourly_listed()  # a period's edges: many short ranges
    if viewer.sees_all and marks.tag_grains_current:
        hourly = grains.filter(hours, grain=SpendTagGrain.ALL_TEAMS, team_id="")
        daily = grains.filter(grain=SpendTagGrain.ALL_TEAMS_DAILY, team_id="")
    else:
        hourly = SpendTagRollup.objects.filter(hours, viewer.team_filter())
        daily = grains.filter(grain=SpendTagGrain.TEAMS_DAILY)
    return [hourly, daily.filter(within(found.days, "bucket"))] if found.days else [hourly], found


def tag_tail(viewer: Viewer, span: Span, marks: RollupMarks, found: Cut) -> Iterator[tuple[str, Decimal, int, datetime]]:
    """(tag, cost, attempts, start time) of each tag of the span's spend rows the roll-up does not answer for: those
    stored since it last ran and those in the hours `found` splits."""
    tail = SpendLog.objects.filter(Q(id__gt=marks.last_id) | split_rows(found.split), viewer.team_filter(),
                                   start_time__gte=span.start, start_time__lt=span.end).exclude(tags=[])
    for tags, cost, status, start in tail.values_list("tags", "cost", "status", "start_time").iterator(chunk_size=5000):
        for tag in dict.fromkeys(tags if isinstance(tags, list) else ()):
            yield str(tag)[:200], cost, int(status != "refused"), start


def tag_periods(viewer: Viewer, span: Span, marks: RollupMarks) -> dict[tuple[Any, ...], Cell]:
    """(tag, first local day of the period) sums over the span: the tag roll-up cut at each local period's start
    (whole UTC days from daily cells, the edges from hourly ones), plus the rows it does not answer for yet."""
    found: dict[tuple[Any, ...], Cell] = defaultdict(Cell)
    rolled, where = tag_cells(viewer, span, marks)
    period = Trunc("bucket", span.grain, output_field=DateTimeField(), tzinfo=span.zone)
    for cells in rolled:
        for row in cells.order_by().annotate(period=period).values("tag", "period").annotate(total=Sum("cost"),
                                                                                              calls=Sum("requests")):
            found[(row["tag"], local_day(row["period"], span))].add({"cost": row["total"], "requests": row["calls"]})
    for tag, cost, attempts, start in tag_tail(viewer, span, marks, where):
        found[(tag, period_of(start.astimezone(span.zone).date(), span.grain))].add({"cost": cost, "requests": attempts})
    return found


def tag_spend(by_period: Mapping[tuple[Any, ...], Cell]) -> list[Ranked]:
    """Spend per tag over the span, dearest first: the sums of its periods (tag_periods), so a page reads the tag
    cells once for its chart over time and its totals."""
    totals: dict[str, Cell] = defaultdict(Cell)
    for (tag, _), cell in by_period.items():
        totals[tag].add({"cost": cell.cost, "requests": cell.requests})
    ranked = sorted(totals.items(), key=lambda item: (-item[1].cost, item[0]))[:TOP * 2]
    return [Ranked(name=tag, label=tag, cost=cell.cost, requests=cell.requests) for tag, cell in ranked]


def refusals(viewer: Viewer, span: Span, *, limit: int = 20) -> list[SpendLog]:
    """The latest refused calls in the span, with the level and limit that refused them."""
    rows = SpendLog.objects.filter(viewer.team_filter(), status="refused", start_time__gte=span.start,
                                   start_time__lt=span.end).order_by("-start_time")
    return list(rows.only("request_id", "start_time", "key_id", "team_id", "model_alias", "error_type",
                          "limit_level", "limit_kind", "limit_current", "limit_max")[:limit])


def key_list(viewer: Viewer, *, search: str = "") -> QuerySet[VirtualKey]:
    """The viewer's keys, dearest first; `search` matches the start of an alias (or of a masked `sk-...` name)."""
    keys = VirtualKey.objects.filter(viewer.team_filter()).order_by("-spend", "id")
    if search:
        keys = keys.filter(key_name__startswith=search) if search.startswith("sk-") else \
            keys.filter(key_alias__startswith=search)
    return keys.only("id", "key_alias", "key_name", "team_id", "user_id", "spend", "max_budget", "budget_duration",
                     "budget_reset_at", "blocked", "expires")


@dataclass(frozen=True, slots=True)
class KeyPage:
    """One page of keys, found by the database from where the last page ended (no OFFSET walk)."""

    keys: list[VirtualKey]
    total: int  # at most COUNT_CAP + 1
    next_after: str  # "" on the last page

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


def key_page(viewer: Viewer, *, search: str, after: str = "") -> KeyPage:
    """KEYS_PAGE_SIZE keys after the cursor `after` ("<spend>:<id>" of the previous page's last key)."""
    keys = key_list(viewer, search=search)
    total = keys[:COUNT_CAP + 1].count()  # counting 400,000 keys costs more than the page: "10,000+" will do
    if after:
        spend, _, key_id = after.partition(":")
        try:
            last_spend, last_id = Decimal(spend), int(key_id)
        except (ArithmeticError, ValueError):
            raise SpanInvalid("'after' must be the cursor a keys page links to.") from None
        # spend <= s bounds an index range scan of (-spend, id) from the cursor on; an OR alone scans from the top.
        keys = keys.filter(Q(spend__lte=last_spend), Q(spend__lt=last_spend) | Q(id__gt=last_id))
    found = list(keys[:KEYS_PAGE_SIZE + 1])
    more = len(found) > KEYS_PAGE_SIZE
    found = found[:KEYS_PAGE_SIZE]
    return KeyPage(keys=found, total=total, next_after=f"{found[-1].spend}:{found[-1].pk}" if more else "")
