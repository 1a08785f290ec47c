"""`settle_and_push_many` on the configured state backend (in-process embedded, Redis with REDIS_URL)."""
from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings

from apps.core.state import state
from apps.core.state.base import LedgerLimits, Settlement


@pytest.fixture
def empty_buffer() -> None:
    backend = state()
    backend.spend_ack(backend.spend_pending())


def level(budget: int) -> LedgerLimits:
    return LedgerLimits(ledger=f"test:{uuid.uuid4().hex}", max_budget=budget)


async def test_each_settlement_settles_and_every_record_is_buffered_in_order(empty_buffer: None) -> None:
    backend = state()
    now = time.time()
    first, second = level(1000), level(1000)
    for ledger in (first, second):
        assert (await backend.admit([ledger], amount=300, now=now)).admitted
    await backend.settle_and_push_many([
        Settlement([first], [b"a", b"b"], reserved=300, actual=100, tokens=5, now=now),
        Settlement([], [b"c"], reserved=0, actual=0, tokens=0, now=now),
        Settlement([second], [b"d"], reserved=300, actual=250, tokens=5, now=now)])
    assert backend.spend_peek(10) == [b"a", b"b", b"c", b"d"]
    assert (backend.ledger_spend(first.ledger), backend.ledger_spend(second.ledger)) == (100, 250)
    # The reservations are released: all that is left can be reserved again, and no more.
    assert (await backend.admit([first], amount=900, now=now)).reserved == 900
    assert (await backend.admit([second], amount=800, now=now)).reserved == 750


async def test_a_flushed_script_cache_is_recovered(empty_buffer: None) -> None:
    if not settings.REDIS_URL:
        pytest.skip("script caching is Redis's")
    backend = state()
    now = time.time()
    ledger = level(1000)
    assert (await backend.admit([ledger], amount=300, now=now)).admitted
    backend.sync.script_flush()  # type: ignore[attr-defined]
    await backend.settle_and_push_many([Settlement([ledger], [b"x"], reserved=300, actual=40, tokens=1, now=now)])
    assert backend.ledger_spend(ledger.ledger) == 40
    assert backend.spend_peek(10) == [b"x"]
