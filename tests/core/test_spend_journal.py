"""The spend journal's bookkeeping (apps/core/state/journal.py): what the flusher stored is dropped, what Redis
lost (a new run id, or a running total that went backwards) is given back to push again, and it stays bounded."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from django.conf import settings

from apps.core.state.base import Settlement
from apps.core.state.journal import SpendJournal
from apps.core.state.redis import RedisState


def test_records_are_kept_until_the_flusher_acknowledges_them() -> None:
    journal = SpendJournal(limit=100)
    assert journal.confirm([b"a", b"b"], run=b"r1", total=2, acked=0) == []
    assert journal.confirm([b"c"], run=b"r1", total=5, acked=1) == []  # others pushed positions 3 and 4
    assert journal.records() == [b"b", b"c"]
    assert journal.confirm([], run=b"r1", total=5, acked=5) == []
    assert journal.records() == []


def test_a_buffer_that_came_back_empty_gives_every_record_back() -> None:
    journal = SpendJournal(limit=100)
    journal.confirm([b"a", b"b", b"c"], run=b"r1", total=3, acked=1)
    assert journal.confirm([b"d"], run=b"r2", total=1, acked=0) == [b"b", b"c"]
    assert journal.records() == [b"d"]


def test_a_replica_that_missed_the_last_writes_gives_back_the_records_past_its_total() -> None:
    journal = SpendJournal(limit=100)
    journal.confirm([b"a", b"b"], run=b"r1", total=2, acked=0)
    journal.confirm([b"c", b"d"], run=b"r1", total=6, acked=0)  # positions 5 and 6
    # Failed over to a replica that had seen writes up to position 5: "d" (6) is gone, "e" now takes 6.
    assert journal.confirm([b"e"], run=b"r1", total=6, acked=0) == [b"d"]
    assert journal.records() == [b"a", b"b", b"c", b"e"]


def test_past_its_limit_the_oldest_records_are_forgotten() -> None:
    journal = SpendJournal(limit=2)
    journal.confirm([b"a", b"b", b"c"], run=b"r1", total=3, acked=0)
    assert (journal.records(), journal.forgotten) == ([b"b", b"c"], 1)


def test_held_records_are_compact_copies_not_the_encoders_buffers() -> None:
    """orjson's bytes keep their whole write buffer allocated (bench/journal_memory.py: 165 MB of RSS for 20,000
    records of 775 bytes); what is held past the call is a copy of the record's own length."""
    from apps.core import jsonutil
    from apps.core.state.memory import MemoryState

    record = jsonutil.dumps({"request_id": "req-1", "metadata": "x" * 700})
    journal = SpendJournal(limit=10)
    journal.confirm([record], run=b"r1", total=1, acked=0)
    [held] = journal.records()
    assert held == record and held is not record
    buffer = MemoryState()
    asyncio.run(buffer.spend_push(record))
    [buffered] = buffer._buffer
    assert buffered == record and buffered is not record


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
def test_a_gateway_forgets_the_events_once_the_flusher_acknowledged_them(settings: Any) -> None:
    backend = RedisState(settings.REDIS_URL)

    events = [f"journal-{uuid.uuid4().hex}".encode() for _ in range(2)]

    async def pushed_then_flushed() -> tuple[list[bytes], list[bytes]]:
        await backend.settle_and_push_many([Settlement((), events, reserved=0, actual=0, tokens=0, now=0.0)])
        waiting = await backend.spend_confirm()
        backend.spend_ack(backend.spend_pending())  # as a flush does once they are stored
        return waiting, await backend.spend_confirm()

    waiting, after = asyncio.run(pushed_then_flushed())
    assert waiting == events and after == []
