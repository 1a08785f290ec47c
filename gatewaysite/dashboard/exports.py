"""CSV exports of the dashboard's numbers: the same sums the charts and tables show, one row per group."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from apps.teams.rollup import rollup_marks
from gatewaysite.dashboard import selectors
from gatewaysite.dashboard.cells import span_cells, team_periods
from gatewaysite.dashboard.key_windows import top_key_windows
from gatewaysite.dashboard.span import Span, SpanInvalid
from gatewaysite.dashboard.viewer import Viewer

CENT_BILLIONTHS = Decimal("1e-10")  # SpendLog's precision
BY = {"team": "team_id", "model": "model", "provider": "provider", "deployment": "deployment_id", "tag": "tag"}
TAG_SUMS = ("spend", "requests")  # the tag roll-up sums no more: a row with two tags counts under both
SUMS = ("spend", "requests", "failures", "refusals", "prompt_tokens", "completion_tokens")


def money(value: Decimal) -> str:
    """USD with SpendLog's ten places, the same on every database."""
    return f"{Decimal(value).quantize(CENT_BILLIONTHS):f}"


def spend_rows(viewer: Viewer, span: Span, by: str) -> Iterable[Sequence[object]]:
    """Spend per period and team (or model, provider, deployment, tag), as the charts sum it."""
    if by == "tag":
        tags = selectors.tag_periods(viewer, span, rollup_marks())
        for (tag, period), cell in sorted(tags.items(), key=lambda item: (item[0][1], item[0][0])):
            yield period.isoformat(), tag, money(cell.cost), cell.requests
        return
    groups = team_periods(viewer, span) if by == "team" else span_cells(viewer, span).deployments((by, "period"))
    for (name, period), cell in sorted(groups.items(), key=lambda item: (item[0][1], str(item[0][0]))):
        yield (period.isoformat(), name, money(cell.cost), cell.requests, cell.counts["failures"],
               cell.counts["refusals"], cell.counts["prompt_tokens"], cell.counts["completion_tokens"])


def deployment_rows(viewer: Viewer, span: Span, by: str) -> Iterable[Sequence[object]]:
    for row in selectors.deployments(span_cells(viewer, span)):
        yield (row["deployment"], row["model"], row["provider"], row["requests"], row["failures"],
               f"{row['error_rate']:.4f}", row["p50"], row["p95"], money(row["cost"]))


def key_rows(viewer: Viewer, span: Span, by: str) -> Iterable[Sequence[object]]:
    """The dearest keys by their current budget window (not the span: a budget is spent per window)."""
    for key in top_key_windows(viewer):
        yield (key.key_id, key.label, money(key.spend), "" if key.max_budget is None else money(key.max_budget),
               key.duration, "" if key.resets_at is None else key.resets_at.isoformat())


HEADERS = {"deployments": ("deployment_id", "model", "provider", "requests", "failures", "error_rate", "p50_ms",
                           "p95_ms", "spend"),
           "keys": ("key_id", "key", "window_spend", "max_budget", "budget_duration", "window_resets_at")}
TABLES = {"spend": spend_rows, "deployments": deployment_rows, "keys": key_rows}


def csv_text(viewer: Viewer, span: Span, table: str, *, by: str = "team") -> str:
    """One table as CSV (`table` one of TABLES; `by` groups the spend table)."""
    if by not in BY:
        raise SpanInvalid(f"'by' must be one of {', '.join(BY)}, got '{by[:20]}'.")
    header = ("period", BY[by], *(TAG_SUMS if by == "tag" else SUMS)) if table == "spend" else HEADERS[table]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(TABLES[table](viewer, span, by))
    return out.getvalue()
