"""Finished calls share settle round trips: limited calls on the next loop turn, the rest within SETTLE_DELAY."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from apps.core.state.base import LedgerLimits, Settlement
from apps.teams import settle_queue

LIMITED = (LedgerLimits(ledger="key:1", max_budget=10),)


class Backend:
    def __init__(self) -> None:
        self.batches: list[list[Settlement]] = []
        self.fail = False

    async def settle_and_push_many(self, settlements: Sequence[Settlement], reports: Sequence[object] = ()) -> None:
        if self.fail:
            raise ConnectionError("state backend down")
        self.batches.append(list(settlements))


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Backend:
    fake = Backend()
    monkeypatch.setattr(settle_queue, "state", lambda: fake)
    return fake


def settlement(name: bytes, *, limited: bool = False) -> Settlement:
    return Settlement(LIMITED if limited else (), [name], reserved=5, actual=3, tokens=10, now=1.0)


async def turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_unlimited_calls_wait_to_share_one_round_trip(backend: Backend) -> None:
    for name in (b"a", b"b", b"c"):
        settle_queue.settle_later(settlement(name))
    await turns()
    assert backend.batches == []
    await asyncio.sleep(settle_queue.SETTLE_DELAY * 3)
    assert [[r for s in batch for r in s.records] for batch in backend.batches] == [[b"a", b"b", b"c"]]


async def test_a_call_with_limits_goes_on_the_next_turn_with_what_waited(backend: Backend) -> None:
    settle_queue.settle_later(settlement(b"a"))
    settle_queue.settle_later(settlement(b"b", limited=True))
    await turns()
    assert [[r for s in batch for r in s.records] for batch in backend.batches] == [[b"a", b"b"]]
    await asyncio.sleep(settle_queue.SETTLE_DELAY * 3)
    assert len(backend.batches) == 1  # the cancelled delay sends nothing more


async def test_drain_sends_at_once_and_waits(backend: Backend) -> None:
    settle_queue.settle_later(settlement(b"a"))
    await settle_queue.drain()
    assert len(backend.batches) == 1


async def test_a_failed_batch_is_logged_and_later_batches_still_go(backend: Backend,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    backend.fail = True
    settle_queue.settle_later(settlement(b"a", limited=True))
    await turns()
    await settle_queue.drain()
    assert "settling 1 finished calls and 0 lease reports failed" in caplog.text
    backend.fail = False
    settle_queue.settle_later(settlement(b"b", limited=True))
    await turns()
    assert [[r for s in batch for r in s.records] for batch in backend.batches] == [[b"b"]]
