"""Finished calls' settles and spend events, sent to the state backend together.

A call's answer is on its way before its reservation is settled and its spend events are buffered;
sending that per call cost a task and a Redis round trip per call. Here finished calls share them:
- a call with limits or budgets (a reservation to settle, tokens to count against tpm) is sent on the
  next loop turn, with whatever else finished meanwhile: as soon as before, so a client's next call
  already sees this one's spend and tokens;
- a call with nothing to settle (master key, unlimited keys: spend events only) or admitted under this
  process's leases (apps.teams.leases: the lease already holds its reservation) may wait up to
  SETTLE_DELAY for others; every batch carries the leases' reports. A process killed without SIGTERM
  loses at most that much of their spend events (SIGTERM drains the queue; see `drain`); their calls' intents
  are still in Redis, so the spend sweep gives each a worker_lost row (`apps.teams.metering.CallIntent`).
When the state backend cannot take a batch (Redis down), its spend events go straight to the database
instead (`keep_in_database`), so a call that reached a provider keeps its spend row.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

from apps.core.state import state
from apps.core.state.base import Settlement
from apps.teams.leases import current_book

SETTLE_DELAY = 0.01  # seconds a finished call's settle may wait for others to share its round trip

logger = logging.getLogger("tollgate.spend")


class SettleQueue:
    """One event loop's pending settlements and the batches being sent."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[Settlement] = []
        self.timer: asyncio.Handle | None = None
        self.sending: set[asyncio.Task[None]] = set()

    def add(self, settlement: Settlement) -> None:
        self.pending.append(settlement)
        if settlement.levels:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_soon(self.send)
        elif self.timer is None:
            self.timer = self.loop.call_later(SETTLE_DELAY, self.send)

    def send_soon(self) -> None:
        """Send within SETTLE_DELAY even with no settlement pending (the leases' reports)."""
        if self.timer is None:
            self.timer = self.loop.call_later(SETTLE_DELAY, self.send)

    def send(self) -> None:
        """Send what is pending now, in a task."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        book = current_book()
        if not self.pending and book is None:
            return
        batch, self.pending = self.pending, []
        task = self.loop.create_task(_settle(batch))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def drain(self) -> None:
        self.send()
        while self.sending:
            await asyncio.gather(*list(self.sending), return_exceptions=True)


async def _settle(batch: list[Settlement]) -> None:
    book = current_book()
    reports = book.take_reports() if book is not None else []
    if not batch and not reports:
        return
    try:
        await state().settle_and_push_many(batch, reports)
    except Exception:  # noqa: BLE001 - a background task: report it here, nobody awaits it
        logger.warning("settling %d finished calls and %d lease reports failed; storing their spend events in the "
                       "database", len(batch), len(reports), exc_info=True)
        await keep_in_database([record for settlement in batch for record in settlement.records])


async def keep_in_database(records: list[bytes]) -> None:
    """Store spend events the state backend could not buffer straight into the database (idempotent on request id
    and attempt, so one that did reach the buffer is not stored twice)."""
    if not records:
        return
    from apps.teams.spend import spend_store_quietly  # the ORM, only on this rare path

    await asyncio.to_thread(spend_store_quietly, records)


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SettleQueue] = weakref.WeakKeyDictionary()


def _queue() -> SettleQueue:
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = SettleQueue(loop)
    return queue


def settle_later(settlement: Settlement) -> None:
    """Queue a finished call's settlement on the running loop."""
    _queue().add(settlement)


def send_soon() -> None:
    """Send the leases' reports within SETTLE_DELAY, with or without settlements."""
    _queue().send_soon()


async def drain() -> None:
    """Send and wait for every queued settlement of the running loop (shutdown, tests)."""
    book = current_book()
    if book is not None:
        book.end_all()
    await _queue().drain()
