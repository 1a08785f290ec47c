"""Spend-log retention: rows older than TOLLGATE_SPEND_RETENTION_DAYS go, in batches, once the roll-up holds them.

Only rows at or below the roll-up's mark are pruned, so every cent stays in the hourly roll-up (and the
dashboard's totals) after its row is gone, and only rows every enabled logging callback has taken. Each batch is its own short transaction: the spend flush and
readers are never held up by one long delete.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.teams.models import SpendLog
from apps.teams.rollup import rollup_mark

PRUNE_BATCH = 5000


def retention_cutoff(days: int, now: datetime | None = None) -> datetime | None:
    """The instant before which rows are pruned, None when retention is off (0 days)."""
    if days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def callbacks_mark() -> int:
    """The last row every enabled logging callback has taken: rows past it wait until they are delivered."""
    from django.db.models import Min

    from apps.teams.models import LogCallback

    lowest = LogCallback.objects.filter(enabled=True).aggregate(lowest=Min("cursor"))["lowest"]
    return 2**63 - 1 if lowest is None else int(lowest)


def spend_prune(*, days: int | None = None, batch: int = PRUNE_BATCH, now: datetime | None = None) -> int:
    """Delete rolled-up spend rows older than the retention window, `batch` at a time; how many went."""
    cutoff = retention_cutoff(settings.TOLLGATE_SPEND_RETENTION_DAYS if days is None else days, now)
    if cutoff is None:
        return 0
    mark = min(rollup_mark(), callbacks_mark())
    deleted = 0
    while True:
        ids = list(SpendLog.objects.filter(start_time__lt=cutoff, id__lte=mark).order_by()
                   .values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += SpendLog.objects.filter(id__in=ids).delete()[0]
