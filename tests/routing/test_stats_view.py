"""The process's view of live deployment numbers: no read per call, its own changes at once, others' soon."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from apps.routing import stats_view
from apps.routing.snapshot import DeploymentRecord
from apps.routing.stats_view import StatsView
from apps.routing.strategies.base import DeploymentStats
from tests.routing.helpers import deployment

MINUTE = 1000


class Backend:
    """The shared numbers another replica may change; counts reads; a read can be held open."""

    def __init__(self) -> None:
        self.numbers: dict[str, DeploymentStats] = {}
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def read(self, deployments: Sequence[DeploymentRecord], now: float) -> dict[str, DeploymentStats]:
        self.reads += 1
        found = {d.id: self.numbers.get(d.id, DeploymentStats()) for d in deployments}
        if self.hold is not None:
            await self.hold.wait()
        return found


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def view(backend: Backend) -> StatsView:
    return StatsView(read=backend.read)


def age(view: StatsView, seconds: float) -> None:
    """Pretend every read of the view was sent `seconds` ago."""
    for seen in view.seen.values():
        seen.sent_at = time.monotonic() - seconds


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_the_first_call_reads_and_warm_calls_do_not_wait_for_a_read(view: StatsView, backend: Backend) -> None:
    one = deployment("one")
    backend.numbers[one.id] = DeploymentStats(requests_this_minute=7)
    assert (await view.stats([one], now=0, minute=MINUTE))[one.id].requests_this_minute == 7
    assert backend.reads == 1
    for _ in range(20):
        await view.stats([one], now=0, minute=MINUTE)
    assert backend.reads == 1  # within REFRESH: not even a background read


async def test_an_older_view_is_served_and_refreshed_once_in_the_background(view: StatsView, backend: Backend) -> None:
    one = deployment("one")
    await view.stats([one], now=0, minute=MINUTE)
    backend.numbers[one.id] = DeploymentStats(requests_this_minute=50)  # another replica's calls
    age(view, stats_view.REFRESH * 2)
    backend.hold = asyncio.Event()
    stale = [await view.stats([one], now=0, minute=MINUTE) for _ in range(5)]
    assert [s[one.id].requests_this_minute for s in stale] == [0] * 5
    await settle()
    assert backend.reads == 2  # one refresh in flight, not five
    backend.hold.set()
    await settle()
    assert (await view.stats([one], now=0, minute=MINUTE))[one.id].requests_this_minute == 50


async def test_a_view_older_than_max_age_or_from_another_minute_is_read_first(view: StatsView,
                                                                              backend: Backend) -> None:
    one = deployment("one")
    await view.stats([one], now=0, minute=MINUTE)
    backend.numbers[one.id] = DeploymentStats(requests_this_minute=3)
    age(view, stats_view.MAX_AGE + 0.1)
    assert (await view.stats([one], now=0, minute=MINUTE))[one.id].requests_this_minute == 3
    backend.numbers[one.id] = DeploymentStats(requests_this_minute=0)
    assert (await view.stats([one], now=60, minute=MINUTE + 1))[one.id].requests_this_minute == 0
    assert backend.reads == 3


async def test_own_calls_count_at_once_and_survive_a_read_sent_before_them(view: StatsView, backend: Backend) -> None:
    one = deployment("one")
    await view.stats([one], now=0, minute=MINUTE)
    view.counted(one.id, minute=MINUTE, requests=1, in_flight=1)
    view.counted(one.id, minute=MINUTE, requests=1, in_flight=1)
    seen = (await view.stats([one], now=0, minute=MINUTE))[one.id]
    assert (seen.requests_this_minute, seen.in_flight) == (2, 2)

    # A read is sent (the backend already holds the two calls), then a third call starts and one ends.
    backend.numbers[one.id] = DeploymentStats(requests_this_minute=2, in_flight=2)
    backend.hold = asyncio.Event()
    reading = asyncio.ensure_future(view.refresh([one], now=0, minute=MINUTE))
    await settle()
    view.counted(one.id, minute=MINUTE, requests=1, in_flight=1)
    view.counted(one.id, minute=MINUTE, tokens=40, in_flight=-1)
    backend.hold.set()
    await reading
    seen = (await view.stats([one], now=0, minute=MINUTE))[one.id]
    assert (seen.requests_this_minute, seen.tokens_this_minute, seen.in_flight) == (3, 40, 2)


async def test_a_cooldown_started_here_holds_at_once_and_through_a_read(view: StatsView, backend: Backend) -> None:
    one = deployment("one")
    await view.stats([one], now=100, minute=MINUTE)
    view.cooled(one.id, until=130)
    assert (await view.stats([one], now=100, minute=MINUTE))[one.id].cooldown_until == 130
    await view.refresh([one], now=100, minute=MINUTE)  # the read raced the cooldown and missed it
    assert (await view.stats([one], now=100, minute=MINUTE))[one.id].cooldown_until == 130
    assert (await view.stats([one], now=131, minute=MINUTE))[one.id].cooldown_until == 0  # over: routable


async def test_a_failed_background_read_keeps_the_view_and_the_next_read_reports_it(view: StatsView,
                                                                                  backend: Backend) -> None:
    one = deployment("one")
    await view.stats([one], now=0, minute=MINUTE)

    async def broken(deployments: Sequence[DeploymentRecord], now: float) -> dict[str, DeploymentStats]:
        raise ConnectionError("state backend down")

    view.read = broken
    age(view, stats_view.REFRESH * 2)
    assert one.id in await view.stats([one], now=0, minute=MINUTE)
    await settle()
    age(view, stats_view.MAX_AGE + 0.1)
    with pytest.raises(ConnectionError):
        await view.stats([one], now=0, minute=MINUTE)


def test_local_changes_add_to_the_counters_and_keep_every_other_number() -> None:
    from dataclasses import fields

    from apps.routing.stats_view import LocalChanges
    from apps.routing.strategies.base import DeploymentStats

    stats = DeploymentStats(in_flight=2, requests_this_minute=10, tokens_this_minute=100, latency_per_token=0.01,
                            time_to_first_token=0.2, cooldown_until=123.0)
    changed = LocalChanges(minute=7, requests=3, tokens=30, in_flight=-1).applied_to(stats, 7)
    assert (changed.in_flight, changed.requests_this_minute, changed.tokens_this_minute) == (1, 13, 130)
    counters = {"in_flight", "requests_this_minute", "tokens_this_minute"}
    assert all(getattr(changed, f.name) == getattr(stats, f.name) for f in fields(stats) if f.name not in counters)
    later = LocalChanges(minute=6, requests=3, tokens=30).applied_to(stats, 7)  # last minute's counts are gone
    assert (later.requests_this_minute, later.tokens_this_minute) == (10, 100)
