"""An admin paginator for tables of hundreds of thousands of rows: an exact count up to COUNT_CAP, past it the
planner's estimate of the listed query (PostgreSQL), since COUNT(*) over 400,000 keys costs more than the page."""
from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

COUNT_CAP = 10_000


def estimated_rows(query: Any) -> int | None:
    """The planner's row estimate for a queryset (None off PostgreSQL or for an empty query)."""
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = query.query.sql_with_params()
    except Exception:  # noqa: BLE001 - EmptyResultSet and the like: nothing to estimate
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        return int(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])


class CappedCountPaginator(Paginator):
    """Counts exactly up to `cap` rows; past it, the planner's estimate (at least `cap` + 1)."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list  # the admin's queryset
        # Unordered: any COUNT_CAP + 1 matching rows will do, so the planner need not walk the listing's index
        # (with a filter on a column of no index, a sequential read is ten to thirty times faster).
        capped = rows.order_by()[:self.cap + 1].count()
        if capped <= self.cap:
            return int(capped)
        return max(estimated_rows(rows) or 0, self.cap + 1)


class SpendRowsPaginator(CappedCountPaginator):
    """Spend rows are counted to 1,000 only: a filter on a column of no index (provider, status) reads its matching
    rows from the heap, and 10,000 of them cost more than the page."""

    cap = 1_000
