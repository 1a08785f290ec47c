"""Spend services: move buffered spend events into SpendLog and the spend columns.

The buffer is the state backend's (a Redis list with REDIS_URL, else process memory). A flush reads the
oldest events, stores them in one transaction and only then drops them from the buffer, so a database
outage leaves them waiting. Re-stored events are skipped by (request_id, attempt), so a flush that
crashes after its commit cannot count spend twice. PostgreSQL stores a batch in one statement
(`spend_sql`); SQLite (embedded) goes through the ORM.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Model

from apps.core.state import state
from apps.core.state.base import LostIntent, StateBackend
from apps.teams.alerts import soft_budget_alerts_quietly
from apps.teams.metering import CallIntent, SpendEvent, drain
from apps.teams.models import EndUser, Organization, ProxyBudget, SpendLog, Team, TeamMembership, User, VirtualKey
from apps.teams.spend_sql import spend_insert_batch

logger = logging.getLogger("tollgate.spend")


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one flush did: events stored, duplicates skipped, malformed events dropped, whether another
    flusher held the lock, and dead processes' calls settled."""

    stored: int = 0
    duplicates: int = 0
    dropped: int = 0
    busy: bool = False
    lost: int = 0  # calls of dead processes settled by the sweep (their rows are among `stored`)

    def __add__(self, other: FlushResult) -> FlushResult:
        return FlushResult(stored=self.stored + other.stored, duplicates=self.duplicates + other.duplicates,
                           dropped=self.dropped + other.dropped, busy=self.busy or other.busy,
                           lost=self.lost + other.lost)


def spend_log_row(event: SpendEvent) -> SpendLog:
    """The SpendLog row for one event."""
    return SpendLog(
        request_id=event.request_id, attempt=event.attempt, key_id=event.key_id, key_hash=event.key_hash,
        team_id=event.team_id, user_id=event.user_id, organization_id=event.organization_id,
        model_alias=event.model_alias, deployment_id=event.deployment_id, provider=event.provider,
        call_type=event.call_type, prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens,
        cached_tokens=event.cached_tokens, cost=event.cost, latency_ms=event.latency_ms, ttft_ms=event.ttft_ms,
        status=event.status, error_type=event.error_type[:100], tags=list(event.tags), end_user=event.end_user,
        start_time=datetime.fromtimestamp(event.start_time, UTC), end_time=datetime.fromtimestamp(event.end_time, UTC),
        limit_level=event.limit_level, limit_kind=event.limit_kind, limit_current=decimal_or_none(event.limit_current),
        limit_max=decimal_or_none(event.limit_max))


def decimal_or_none(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def new_events(events: Iterable[SpendEvent]) -> list[SpendEvent]:
    """Events not yet stored (nor repeated within the batch)."""
    batch = list(events)
    stored = set(SpendLog.objects.filter(request_id__in={e.request_id for e in batch})
                 .values_list("request_id", "attempt"))
    fresh: list[SpendEvent] = []
    for event in batch:
        identity = (event.request_id, event.attempt)
        if identity not in stored:
            stored.add(identity)
            fresh.append(event)
    return fresh


def spend_add(events: Sequence[SpendEvent]) -> None:
    """Add the events' cost to every key, user, membership, team, organization and end user they belong to, and
    the proxy's."""
    totals: dict[tuple[type[Model], str, Any], Decimal] = defaultdict(Decimal)
    for event in events:
        if not event.cost_nanos:
            continue
        owners: tuple[tuple[type[Model], str, object], ...] = (
            (VirtualKey, "pk", event.key_id), (User, "username", event.user_id), (Team, "team_id", event.team_id),
            (Organization, "organization_id", event.organization_id))
        for owner, column, value in owners:
            if value is not None:
                totals[(owner, column, value)] += event.cost
        if event.team_id is not None and event.user_id is not None:
            totals[(TeamMembership, "pair", (event.team_id, event.user_id))] += event.cost
    for (table, column, value), amount in totals.items():
        manager: Any = table._default_manager
        rows = manager.filter(team_id=value[0], user_id=value[1]) if column == "pair" else \
            manager.filter(**{column: value})
        rows.update(spend=F("spend") + amount)
    proxy_total = sum((event.cost for event in events if event.cost_nanos), Decimal(0))
    if proxy_total:
        ProxyBudget.objects.update(spend=F("spend") + proxy_total)  # every call counts at the proxy level
    end_users_add(events)
    key_model_spend_add(events)


def end_users_add(events: Sequence[SpendEvent]) -> None:
    """Add the events' cost to their end users' spend, creating each end user on first use (as LiteLLM)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for event in events:
        if event.end_user:
            totals[event.end_user] += event.cost
    # bulk_create sends no post_save: a new end user (no budget yet) does not invalidate the key snapshot.
    EndUser.objects.bulk_create([EndUser(user_id=user_id) for user_id in totals], ignore_conflicts=True)
    for user_id, amount in totals.items():
        if amount:
            EndUser.objects.filter(user_id=user_id).update(spend=F("spend") + amount)


def key_model_spend_add(events: Sequence[SpendEvent]) -> None:
    """Add each model's cost to `model_spend` of the keys with per-model budgets."""
    totals: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for event in events:
        if event.key_id is not None and event.cost_nanos:
            totals[event.key_id][event.model_alias] += event.cost
    if not totals:
        return
    for key in VirtualKey.objects.filter(pk__in=totals).only("pk", "model_spend", "model_max_budget"):
        if not key.model_max_budget:
            continue
        spent = dict(key.model_spend or {})
        for model, amount in totals[key.pk].items():
            spent[model] = float(Decimal(str(spent.get(model) or 0)) + amount)
        VirtualKey.objects.filter(pk=key.pk).update(model_spend=spent)


def spend_store_orm(records: Sequence[bytes]) -> FlushResult:
    """Store the records' new events and their spend through the ORM (SQLite; inside a transaction)."""
    events = decode_all(records)
    fresh = new_events(events)
    # No ignore_conflicts: SQLite's INSERT OR IGNORE would also skip rows failing a CHECK, yet count their spend.
    SpendLog.objects.bulk_create([spend_log_row(e) for e in fresh])
    spend_add(fresh)
    return FlushResult(stored=len(fresh), duplicates=len(events) - len(fresh), dropped=len(records) - len(events))


def spend_store_sql(records: Sequence[bytes]) -> FlushResult:
    """Store the records' new events and their spend with COPY and one statement (PostgreSQL; in a transaction)."""
    stored, dropped = spend_insert_batch(records)
    return FlushResult(stored=stored, duplicates=len(records) - stored - dropped, dropped=dropped)


def spend_store(records: Sequence[bytes]) -> FlushResult:
    """Store buffered records (encoded SpendEvents) in one transaction: each (request_id, attempt) once,
    its cost added to every owner's spend.

    A batch the database rejects as data (a value out of range, a required field missing) is split in
    halves until the bad records are alone; those are logged and dropped, the rest stored. Other errors
    (the database unreachable) propagate, leaving the batch to the caller.
    """
    if not records:
        return FlushResult()
    store = spend_store_sql if connection.vendor == "postgresql" else spend_store_orm
    try:
        with transaction.atomic():
            return store(records)
    except (DataError, IntegrityError):
        if len(records) == 1:
            logger.error("dropping a malformed spend event of %d bytes", len(records[0]), exc_info=True)
            return FlushResult(dropped=1)
    half = len(records) // 2
    return spend_store(records[:half]) + spend_store(records[half:])


def decode_all(raw: Sequence[bytes]) -> list[SpendEvent]:
    events = []
    for item in raw:
        try:
            events.append(SpendEvent.decode(item))
        except (ValueError, TypeError, AttributeError):  # not JSON, not an object, fields missing or unknown
            logger.error("dropping a malformed spend event of %d bytes", len(item))
    return events


def spend_flush(*, batch: int | None = None, backend: StateBackend | None = None) -> FlushResult:
    """Settle the calls of dead processes (`spend_sweep`), then store every buffered event, oldest first; raises
    (leaving the rest buffered) if the database fails.

    A flush that outlives its lock (TOLLGATE_SPEND_FLUSH_LOCK_SECONDS) may overlap the next flusher's, and both
    then store the same oldest events: the second store skips what the first committed ((request_id, attempt) is
    unique; only inserted rows add to spend totals), and trimming the buffer is fenced by the lock's token, so
    the flusher that lost its lock stops without trimming (it would drop events nobody stored). Every trim renews
    the lock.
    """
    backend = backend or state()
    size = batch or settings.TOLLGATE_SPEND_FLUSH_BATCH
    result = spend_sweep(backend=backend)
    with backend.flush_lock() as token:
        if not token:
            return result + FlushResult(busy=True)
        while raw := backend.spend_peek(size):
            result += spend_store(raw)
            if not backend.spend_ack(len(raw), token=token):
                logger.warning("the spend flush outlived its lock; another flusher goes on from here")
                return result + FlushResult(busy=True)
    return result


def spend_sweep(*, backend: StateBackend | None = None) -> FlushResult:
    """Store a spend row for every call whose process died before settling it, and settle its reservation, each
    exactly once (`lost`: how many were settled here).

    Rows first (idempotent on request id and attempt), then the settle (one script that deletes the intent, so
    only one sweeper settles it): a sweeper that dies in between leaves the intent for the next one. The row is
    charged at the call's reservation (`CallIntent`)."""
    backend = backend or state()
    lost = backend.intents_lost()
    if not lost:
        return FlushResult()
    now = time.time()
    intents: list[tuple[LostIntent, CallIntent]] = []
    for item in lost:
        try:
            intents.append((item, CallIntent.decode(item.intent)))
        except (ValueError, TypeError, KeyError, AttributeError):  # not written by this release: only dropped
            logger.error("dropping a malformed intent of %d bytes", len(item.intent))
            backend.intent_settle_lost(item, levels=(), leased=True, reserved=0, actual=0, clipped="", now=now)
    result = spend_store([intent.row(now) for _, intent in intents])
    settled = 0
    for item, intent in intents:
        settled += backend.intent_settle_lost(item, levels=intent.levels, leased=intent.leased,
                                              reserved=intent.reserved, actual=intent.charge, clipped=intent.clipped,
                                              now=now)
    if settled:
        logger.warning("settled %d calls of processes that died mid-call (status worker_lost)", settled)
    return result + FlushResult(lost=settled)


def spend_store_quietly(records: Sequence[bytes]) -> FlushResult:
    """`spend_store` from a worker thread, with its database connection closed after; a failure is logged (the
    events are lost only when the database is down while the state backend is too)."""
    close_old_connections()
    try:
        return spend_store(records)
    except Exception:  # noqa: BLE001 - the last place these events can go
        logger.exception("storing %d spend events in the database failed; they are lost", len(records))
        return FlushResult()
    finally:
        close_old_connections()


def spend_flush_quietly() -> FlushResult:
    """`spend_flush` for background loops: a database outage is logged, and the events wait."""
    close_old_connections()
    try:
        result = spend_flush()
        if result.stored:
            soft_budget_alerts_quietly()
        return result
    except Exception:  # noqa: BLE001 - any failure keeps the events buffered for the next try
        # Not `spend_pending()` here: with the state backend down it would raise and end the caller's loop.
        logger.warning("spend flush failed; the events stay buffered", exc_info=True)
        return FlushResult()
    finally:
        close_old_connections()


def deliver_callbacks() -> None:
    """The logging callbacks' due batches (apps.teams.log_callbacks), with this thread's connection closed after."""
    from apps.teams.log_callbacks import deliver_due_quietly

    try:
        deliver_due_quietly()
    finally:
        close_old_connections()


class SpendFlusher:
    """The `serve` process's own flush loop, plus the final flush when the server shuts down (SIGTERM)."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None

    async def start(self) -> None:
        if settings.TOLLGATE_SPEND_FLUSH_INTERVAL > 0:
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(settings.TOLLGATE_SPEND_FLUSH_INTERVAL))

    async def _run(self, interval: float) -> None:
        assert self._stopping is not None
        while True:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
                return
            except TimeoutError:
                try:
                    await sync_to_async(spend_flush_quietly, thread_sensitive=False)()
                    await sync_to_async(deliver_callbacks, thread_sensitive=False)()
                except Exception:  # noqa: BLE001 - the loop must outlive any one round (a backend outage)
                    logger.exception("spend flush round failed; trying again in %gs", interval)

    async def stop(self) -> None:
        """Stop the loop (after the flush it may be running), let cancelled calls settle, flush the rest."""
        if self._task is not None and self._stopping is not None:
            self._stopping.set()
            await self._task
        await drain()
        result = await sync_to_async(spend_flush_quietly, thread_sensitive=False)()
        logger.info("shutdown flush stored %d spend events; %d left buffered", result.stored,
                    state().spend_pending())


spend_flusher = SpendFlusher()
