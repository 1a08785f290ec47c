"""The templates' context for each dashboard page, assembled from the selectors."""
from __future__ import annotations

from typing import Any

from gatewaysite.dashboard import selectors
from gatewaysite.dashboard.cells import span_cells
from gatewaysite.dashboard.key_windows import KeyWindow, top_key_windows
from gatewaysite.dashboard.span import GRAINS, Span
from gatewaysite.dashboard.viewer import Viewer


def ranked_chart(rows: list[selectors.Ranked]) -> dict[str, list[Any]]:
    return {"labels": [r.label for r in rows], "values": [float(r.cost) for r in rows]}


def keys_chart(rows: list[KeyWindow]) -> dict[str, list[Any]]:
    return {"labels": [k.label for k in rows], "values": [float(k.spend) for k in rows]}


def overview(viewer: Viewer, span: Span) -> dict[str, Any]:
    """Everything /dashboard/ shows for the span."""
    found = span_cells(viewer, span)
    tag_periods = selectors.tag_periods(viewer, span, found.marks)
    keys, models, tags = top_key_windows(viewer), selectors.top_models(found), selectors.tag_spend(tag_periods)
    teams = selectors.teams_against_budgets(viewer, found)
    labels = {team.name: team.label for team in teams}
    return {
        "span": span, "grains": GRAINS, "viewer": viewer, "totals": selectors.summary(found),
        "teams": teams, "top_keys": keys, "top_models": models,
        "tags": tags, "deployments": selectors.deployments(found),
        "refusals": selectors.refusals(viewer, span), "rollup_mark": found.marks.last_id,
        "charts": {"time": selectors.spend_over_time(found, span, team_labels=labels, tags=tag_periods),
                   "keys": keys_chart(keys),
                   "models": ranked_chart(models), "tags": ranked_chart(tags)},
    }
