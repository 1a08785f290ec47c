"""Budget and rate leases (apps/teams/leases.py) against the real Redis: what they reserve, give back and
reclaim, and that calls admitted under them are accounted exactly."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from django.conf import settings

from apps.core.state import state
from apps.core.state.base import LeaseGrant, LeaseReport, LedgerLimits
from apps.teams import leases
from apps.teams.leases import LeaseBook

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="leases exist with the Redis state only")
W = 1_000  # one call's worst case, nanodollars
MANY = LeaseGrant(W * 256, 256, 2 ** 62)
LEAST = LeaseGrant(W * 4, 4, 4096)


def level(**limits: object) -> LedgerLimits:
    return LedgerLimits(ledger=f"lease-test-{uuid.uuid4().hex}", **limits)  # type: ignore[arg-type]


def record(name: str) -> dict[str, float]:
    from apps.core.state.redis import ledger_key

    return {k.decode(): float(v) for k, v in state().sync.hgetall(ledger_key(name)).items()}


def held_by(name: str) -> dict[str, str]:
    from apps.core.state.redis import leases_key

    return {k.decode(): v.decode() for k, v in state().sync.hgetall(leases_key(name)).items()}


async def grant(limits: LedgerLimits, holder: str = "h1", *, expires: float | None = None,
                now: float | None = None) -> LeaseGrant | None:
    now = time.time() if now is None else now
    return await state().lease_grant(limits, holder=holder, wanted=MANY, least=LEAST,
                                     expires=now + 2 if expires is None else expires, share=16, grace=30, now=now)


def test_a_grant_reserves_budget_and_slots_and_a_report_gives_the_unused_back() -> None:
    limits = level(max_budget=10_000_000, rpm_limit=10_000)

    async def scenario() -> None:
        given = await grant(limits)
        assert given == LeaseGrant(budget=W * 256, rpm=256, tpm=0)
        assert (record(limits.ledger)["reserved"], record(limits.ledger)["rpm_n"]) == (W * 256, 256)
        assert held_by(limits.ledger)["h1"].startswith(f"{W * 256} ")
        minute = int(time.time() // 60)
        await state().settle_and_push_many([], [LeaseReport(level=limits, holder="h1", spend=700, release=W * 256,
                                                            tokens=30, rpm_back=255, minute=minute)])
        after = record(limits.ledger)
        assert (after["spent"], after["reserved"], after["rpm_n"], after["tpm_n"]) == (700, 0, 1, 30)
        assert held_by(limits.ledger) == {}

    asyncio.run(scenario())


def test_a_level_close_to_its_limit_gets_no_lease() -> None:
    near = level(max_budget=W * 4 * 16 - 1)  # a sixteenth of it is less than four calls
    slots = level(rpm_limit=63)
    assert asyncio.run(grant(near)) is None and asyncio.run(grant(slots)) is None
    assert record(near.ledger)["reserved"] == 0
    assert asyncio.run(grant(level(max_budget=W * 4 * 16))) == LeaseGrant(budget=W * 4)


def test_a_dead_holders_lease_is_reclaimed_after_its_end_and_grace() -> None:
    limits = level(max_budget=10_000_000)
    now = time.time()
    assert asyncio.run(grant(limits, "dead", expires=now - 31, now=now - 40)) is not None
    assert record(limits.ledger)["reserved"] == W * 256
    assert asyncio.run(grant(limits, "alive")) is not None  # reclaims the dead one's, then takes its own
    assert record(limits.ledger)["reserved"] == W * 256
    assert set(held_by(limits.ledger)) == {"alive"}
    # The dead holder's late report gives back nothing it no longer holds.
    asyncio.run(state().settle_and_push_many([], [LeaseReport(level=limits, holder="dead", spend=5,
                                                              release=W * 256)]))
    assert (record(limits.ledger)["reserved"], record(limits.ledger)["spent"]) == (W * 256, 5)


def book_scenario(limits: LedgerLimits, body) -> None:  # type: ignore[no-untyped-def]
    async def run() -> None:
        book = LeaseBook(asyncio.get_running_loop(), seconds=2.0)
        assert book.admit([limits], W, time.time()) is None  # no lease yet: asks for one
        await asyncio.gather(*book.tasks)
        await body(book)

    asyncio.run(run())


def test_calls_under_a_lease_need_no_round_trip_and_are_counted_exactly(monkeypatch) -> None:
    limits = level(max_budget=10_000_000, rpm_limit=100_000, tpm_limit=10_000_000)

    async def body(book: LeaseBook) -> None:
        async def no_admit(*args: object, **kwargs: object) -> None:
            raise AssertionError("a leased call went to Redis")

        monkeypatch.setattr(type(state()), "admit", no_admit)
        tickets = [book.admit([limits], W, time.time()) for _ in range(10)]
        assert all(tickets)
        for ticket in tickets:
            book.settle(ticket, 300, 20)  # type: ignore[arg-type]
        await state().settle_and_push_many([], book.take_reports())
        now = record(limits.ledger)
        assert (now["spent"], now["reserved"]) == (3_000, W * 256 - 3_000)
        book.end_all()
        await state().settle_and_push_many([], book.take_reports())
        done = record(limits.ledger)
        # Everything unused is back: 10 requests counted, the lease's tokens returned, the calls' tokens counted.
        assert (done["spent"], done["reserved"], done["rpm_n"], done["tpm_n"]) == (3_000, 0, 10, 200)
        assert held_by(limits.ledger) == {}

    book_scenario(limits, body)


def test_an_ended_lease_keeps_a_running_calls_reservation_until_it_settles() -> None:
    limits = level(max_budget=10_000_000)

    async def body(book: LeaseBook) -> None:
        running = book.admit([limits], W, time.time())
        assert running is not None
        book.end_all()
        await state().settle_and_push_many([], book.take_reports())
        assert record(limits.ledger)["reserved"] == W
        assert held_by(limits.ledger)[book.holder].startswith(f"{W} ")  # kept as long as a dead call's would be
        assert not running.leases[0].covers(W, time.time())  # no new call under an ended lease
        book.settle(running, 400, 0)
        await state().settle_and_push_many([], book.take_reports())
        assert (record(limits.ledger)["reserved"], record(limits.ledger)["spent"]) == (0, 400)
        assert held_by(limits.ledger) == {} and book.draining == []

    book_scenario(limits, body)


def test_changed_limits_end_the_lease() -> None:
    limits = level(max_budget=10_000_000)

    async def body(book: LeaseBook) -> None:
        lower = LedgerLimits(ledger=limits.ledger, max_budget=9_000_000)
        assert book.admit([lower], W, time.time()) is None  # the old lease ends, a new one is asked for
        await asyncio.gather(*book.tasks)
        assert book.admit([lower], W, time.time()) is not None
        await state().settle_and_push_many([], book.take_reports())
        assert record(limits.ledger)["reserved"] == W * 256  # only the new lease is held

    book_scenario(limits, body)


def test_a_lease_ends_on_time_and_gives_everything_back() -> None:
    limits = level(max_budget=10_000_000)

    async def scenario() -> None:
        book = leases.LeaseBook(asyncio.get_running_loop(), seconds=0.2)
        leases._books[asyncio.get_running_loop()] = book
        book.admit([limits], W, time.time())
        await asyncio.gather(*book.tasks)
        assert record(limits.ledger)["reserved"] == W * 256
        deadline = time.monotonic() + 5  # the lease ends after 0.2 s, its report goes with the next settle batch
        while record(limits.ledger)["reserved"] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert record(limits.ledger)["reserved"] == 0 and book.leases == {}

    asyncio.run(scenario())


def test_a_failed_ask_is_not_repeated_by_every_call(monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    limits = level(max_budget=10_000_000)
    asks: list[str] = []

    async def down(*args: object, **kwargs: object) -> None:
        asks.append("ask")
        raise ConnectionError("redis down")

    monkeypatch.setattr(type(state()), "lease_grant", down)

    async def scenario() -> None:
        book = LeaseBook(asyncio.get_running_loop(), seconds=2.0)
        for _ in range(5):
            assert book.admit([limits], W, time.time()) is None
            await asyncio.gather(*book.tasks)

    asyncio.run(scenario())
    assert asks == ["ask"] and "asking for a lease failed" in caplog.text


def test_top_ups_ask_only_for_what_runs_low_so_a_busy_process_holds_one_leases_worth() -> None:
    """A process serving for long tops its lease up again and again: the slots and tokens it holds stay
    about one lease's worth instead of taking a sixteenth of what is left each time (which would soon
    refuse every process's calls with 429 while nothing was used)."""
    limits = level(max_budget=10 ** 15, rpm_limit=10 ** 9, tpm_limit=10 ** 9)

    async def body(book: LeaseBook) -> None:
        leased = 0
        for _ in range(40):
            for _ in range(100):
                ticket = book.admit([limits], W, time.time())
                if ticket is not None:
                    leased += 1
                    book.settle(ticket, 100, 10)
            await asyncio.gather(*book.tasks)
            await state().settle_and_push_many([], book.take_reports())
        assert leased > 3_500  # nearly every call was leased, through many top-ups
        now = record(limits.ledger)
        assert now["tpm_n"] <= leases.LEASE_TOKENS + 10 * 4_000
        assert now["rpm_n"] <= 4_000 + 2 * leases.LEASE_CALLS
        assert now["reserved"] <= 2 * W * leases.LEASE_CALLS

    book_scenario(limits, body)


def test_a_call_costing_more_than_its_worst_case_is_spent_in_full_and_the_lease_gives_back_what_it_held() -> None:
    """Running calls under an ended lease keep their whole worst case reserved, even when another call's
    overrun used part of it; once all settle, the lease has given back exactly what it held."""
    limits = LedgerLimits(ledger="unit", max_budget=10 ** 9)
    lease = leases.Lease(limits=limits, ends=time.time() + 2, minute=0)
    lease.extend(LeaseGrant(budget=2 * W), lease.ends, 0)
    lease.take(W)
    lease.take(W)
    lease.end()
    lease.settle(W, 3 * W // 2, 0)  # the first call cost half again its worst case
    lease.settle(W, W, 0)
    report = lease.take_report("h", time.time())
    assert report is not None and (report.spend, report.release, lease.held) == (5 * W // 2, 2 * W, 0)
