"""CSV exports of the dashboard's numbers: the same sums the charts and tables show, one row per group."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from gatewaysite.dashboard import selectors
from gatewaysite.dashboard.cells import span_cells
from gatewaysite.dashboard.span import Span
from gatewaysite.dashboard.viewer import Viewer

CENT_BILLIONTHS = Decimal("1e-10")  # SpendLog's precision


def money(value: Decimal) -> str:
    """USD with SpendLog's ten places, the same on every database."""
    return f"{Decimal(value).quantize(CENT_BILLIONTHS):f}"


SPEND_HEADER = ("period", "team_id", "model", "provider", "deployment_id", "spend", "requests", "failures",
                "refusals", "prompt_tokens", "completion_tokens")


def spend_rows(viewer: Viewer, span: Span) -> Iterable[Sequence[object]]:
    """Spend per period, team, model, provider and deployment (a refusal has no deployment)."""
    found = span_cells(viewer, span)
    for (team, model, provider, deployment, period), cell in sorted(found.items(), key=lambda i: (i[0][4], i[0][:4])):
        yield (period.isoformat(), team, model, provider, deployment, money(cell.cost), cell.requests,
               cell.counts["failures"], cell.counts["refusals"], cell.counts["prompt_tokens"],
               cell.counts["completion_tokens"])


def deployment_rows(viewer: Viewer, span: Span) -> Iterable[Sequence[object]]:
    for row in selectors.deployments(span_cells(viewer, span)):
        yield (row["deployment"], row["model"], row["provider"], row["requests"], row["failures"],
               f"{row['error_rate']:.4f}", row["p50"], row["p95"], money(row["cost"]))


def key_rows(viewer: Viewer, span: Span) -> Iterable[Sequence[object]]:
    for key in selectors.top_keys(viewer, span):
        yield (key.name, key.label, money(key.cost), key.requests)


TABLES = {
    "spend": (SPEND_HEADER, spend_rows),
    "deployments": (("deployment_id", "model", "provider", "requests", "failures", "error_rate", "p50_ms",
                     "p95_ms", "spend"), deployment_rows),
    "keys": (("key_id", "key", "spend", "requests"), key_rows),
}


def csv_text(viewer: Viewer, span: Span, table: str) -> str:
    """One table as CSV; KeyError for an unknown table."""
    header, rows = TABLES[table]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows(viewer, span))
    return out.getvalue()
