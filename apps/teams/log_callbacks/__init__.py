"""Logging callbacks: every stored call sent to Langfuse, a webhook, or S3-compatible storage.

Never on the request path: `deliver_due()` runs after each spend flush (the Celery task with Redis, the serve
process's flusher embedded). It reads SpendLog rows past each destination's cursor, sends them as one batch, and
moves the cursor only on success; a failure backs off exponentially (2 s doubling, at most 5 min) and the same
rows go again. Rows are only taken once they are `SETTLE_SECONDS` old, so a flush committed out of id order is
never skipped. Event ids are the calls' own (request id and attempt), so a batch sent twice is de-duplicated.
"""
from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.logs import redact
from apps.teams.log_callbacks.senders import DeliveryFailed, sender_for
from apps.teams.models import LogCallback, SpendLog

logger = logging.getLogger("tollgate.callbacks")
BATCH = 500
SETTLE_SECONDS = 2.0
BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0
# One delivery at a time per process (SQLite has no row locks to keep two threads off the same cursor); across
# processes on PostgreSQL, the row lock below does it.
DELIVERING = threading.Lock()


def backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(failures - 1, 0)))


def pending_rows(callback: LogCallback, *, now: datetime, batch: int) -> list[SpendLog]:
    """The next rows this destination takes: past its cursor, settled, of the outcomes it wants."""
    wanted = Q()
    if callback.on_success:
        wanted |= Q(status="success")
    if callback.on_failure:
        wanted |= ~Q(status="success")
    if not wanted:
        return []
    rows = SpendLog.objects.filter(id__gt=callback.cursor, end_time__lte=now - timedelta(seconds=SETTLE_SECONDS))
    return list(rows.filter(wanted).order_by("id")[:batch])


def deliver_one(callback: LogCallback, *, now: datetime, batch: int = BATCH) -> int:
    """Send this destination's next batch; how many calls it took (0 when there was none or it failed)."""
    rows = pending_rows(callback, now=now, batch=batch)
    if not rows:
        return 0
    try:
        sender_for(callback).send(rows)
    except DeliveryFailed as error:
        callback.failures += 1
        callback.next_attempt_at = now + backoff(callback.failures)
        callback.last_error = redact(str(error))[:300]
        callback.save(update_fields=["failures", "next_attempt_at", "last_error"])
        logger.warning("callback %s: %d calls not delivered (%s); retrying in %s", callback.name, len(rows),
                       callback.last_error, backoff(callback.failures))
        return 0
    callback.cursor, callback.failures, callback.next_attempt_at, callback.last_error = rows[-1].id, 0, None, ""
    callback.delivered_total += len(rows)
    callback.save(update_fields=["cursor", "failures", "next_attempt_at", "last_error", "delivered_total"])
    return len(rows)


def deliver_due(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Every enabled destination whose backoff has passed, until each is caught up or fails; calls delivered."""
    if not DELIVERING.acquire(blocking=False):
        return 0  # this process is delivering already: the next flush picks up whatever it leaves
    try:
        return deliver_all_due(now=now or timezone.now(), batch=batch)
    finally:
        DELIVERING.release()


def claimed() -> AbstractContextManager[object]:
    """Where a destination's row is locked for the deliveries: a transaction on PostgreSQL (the row lock keeps other
    workers off it). SQLite locks the whole database instead, across every HTTP delivery, holding up the spend flush,
    and has no row locks to take, so there the deliveries run outside a transaction (one process serves SQLite)."""
    return transaction.atomic() if connection.features.has_select_for_update_skip_locked else nullcontext()


def deliver_all_due(*, now: datetime, batch: int) -> int:
    delivered = 0
    due = LogCallback.objects.filter(enabled=True).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    for callback_id in due.values_list("id", flat=True):
        with claimed():
            callback = LogCallback.objects.select_for_update(skip_locked=True).filter(id=callback_id).first()
            if callback is None:
                continue  # another worker is delivering it
            while sent := deliver_one(callback, now=now, batch=batch):
                delivered += sent
    return delivered


def deliver_due_quietly() -> int:
    """`deliver_due`, logging instead of raising (the spend flush that called it has done its job)."""
    try:
        return deliver_due()
    except Exception:  # noqa: BLE001 - a broken destination must not break spend flushing
        logger.exception("log callbacks failed")
        return 0
