"""Budget and rate leases: a process admits most calls of a level far from its limits without a round trip.

The atomic admit (one Redis script per call) is exact but puts a round trip before every upstream call. While
a level (key, user, team member, team, organization) is far from its limits, the process takes a lease
instead: nanodollars reserved in Redis under its name, and request slots and tokens counted for it in the
current minute, at most 1/LEASE_SHARE of what the level has left. Calls that fit in the lease are admitted
here, with no round trip; their spend and tokens reach Redis with the next batch of settlements (within
settle_queue.SETTLE_DELAY). Nothing can be spent that was not reserved first, so budgets still cannot be
overspent: a call that does not fit (a level close to a limit, a level with a parallel limit, a lease not yet
granted) takes the atomic admit as before.

What a lease holds is not available to other processes' calls meanwhile, so near a limit they may be refused
up to that much early, for at most a lease's life. Leases are therefore granted only while at least
LEASE_SHARE x LEAST_CALLS calls (worst cases, request slots) fit in what is left, and take 1/LEASE_SHARE of it.

A lease ends after TOLLGATE_LEASE_SECONDS, at the end of its minute when it holds request slots or tokens, at
the end of the level's budget window, when the level's limits change, and at shutdown. It then gives back what
it did not use; calls still running keep their part reserved until they settle (draining). A process that
dies holding a lease leaves it to be reclaimed LEASE_GRACE seconds after its end (a draining lease, after
PARALLEL_STALE_SECONDS, as a dead process's single reservations are).
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from apps.core.state import state
from apps.core.state.base import PARALLEL_STALE_SECONDS, LeaseGrant, LeaseReport, LedgerLimits

LEASE_SHARE = 16  # a lease takes at most this fraction of what a level has left
LEASE_CALLS = 256  # a lease asks for this many calls' worth (budget: this many worst cases; slots: this many)
LEAST_CALLS = 4  # a lease for fewer calls (worst cases, slots) is declined: the level is close to its limit
LEASE_TOKENS = 256 * 1024  # a tpm allowance asks for this many tokens
LEAST_TOKENS = 4096  # a smaller tpm allowance is declined
LEASE_LOW = 0.25  # ask for more once less than this share of a lease is left
DECLINED_WAIT = 1.0  # seconds before asking again for a level whose lease was declined
LEASE_GRACE = 30.0  # seconds past its end after which an unreported lease belongs to a dead process

NOTHING = LeaseGrant()
logger = logging.getLogger("tollgate.leases")


def full_lease(amount: int) -> LeaseGrant:
    """Every allowance of a new lease, for calls whose worst case is `amount`."""
    return LeaseGrant(amount * LEASE_CALLS, LEASE_CALLS, LEASE_TOKENS)


@dataclass(slots=True)
class Pending:
    """What a lease has to tell Redis since its last report."""

    spend: int = 0  # settled cost of its calls
    release: int = 0  # reservation given back
    tokens: int = 0  # tokens to count (beyond the lease's tpm allowance)
    rpm_back: int = 0  # unused request slots, when the lease ended
    tpm_back: int = 0  # unused tokens, likewise

    def __bool__(self) -> bool:
        return any((self.spend, self.release, self.tokens, self.rpm_back, self.tpm_back))


@dataclass(slots=True)
class Lease:
    """One level's allowances held by this process, as if every pending report were already applied."""

    limits: LedgerLimits
    ends: float  # epoch seconds
    minute: int  # the minute its slots and tokens were counted in
    held: int = 0  # nanodollars reserved for this lease in Redis
    slots: int = 0  # request slots left (rpm)
    tokens_granted: int = 0
    tokens_used: int = 0
    granted_budget: int = 0  # the last grant's sizes, to tell when the lease runs low
    granted_slots: int = 0
    granted_tokens: int = 0
    committed: int = 0  # worst cases of the calls running under it
    running: int = 0
    draining: bool = False
    announce: bool = False  # draining, and Redis has not been told to keep the rest reserved for running calls
    report: Pending = field(default_factory=Pending)

    def covers(self, amount: int, now: float) -> bool:
        level = self.limits
        return (not self.draining and now < self.ends
                and (level.max_budget is None or self.held - self.committed >= amount)
                and (level.rpm_limit is None or self.slots >= 1)
                and (level.tpm_limit is None or self.tokens_used < self.tokens_granted))

    def wanted(self, amount: int) -> LeaseGrant:
        """What to ask for to top the lease up: only the allowances running low (none when nothing is)."""
        level = self.limits
        budget_left, tokens_left = self.held - self.committed, self.tokens_granted - self.tokens_used
        budget_low = level.max_budget is not None and (budget_left < max(amount, self.granted_budget * LEASE_LOW))
        slots_low = level.rpm_limit is not None and self.slots < max(1, self.granted_slots * LEASE_LOW)
        tokens_low = level.tpm_limit is not None and tokens_left < max(1, self.granted_tokens * LEASE_LOW)
        return LeaseGrant(amount * LEASE_CALLS if budget_low else 0, LEASE_CALLS if slots_low else 0,
                          LEASE_TOKENS if tokens_low else 0)

    def take(self, amount: int) -> None:
        self.committed += amount
        self.running += 1
        self.slots -= 1

    def settle(self, amount: int, actual: int, tokens: int) -> None:
        """A call under this lease finished: its cost moves from the lease to the level's spend."""
        self.committed -= amount
        self.running -= 1
        release = min(actual, self.held)
        self.held -= release
        self.report.spend += actual
        self.report.release += release
        if self.limits.tpm_limit is None:
            self.report.tokens += tokens
        else:
            excess_before = max(0, self.tokens_used - self.tokens_granted)
            self.tokens_used += tokens
            self.report.tokens += max(0, self.tokens_used - self.tokens_granted) - excess_before
        if self.draining:  # what this call had reserved beyond its cost serves no later call
            self.report.release += self.held - self.committed
            self.held = self.committed

    def extend(self, grant: LeaseGrant, ends: float, minute: int) -> None:
        if minute != self.minute:  # last minute's slots and tokens are gone; the new ones start from zero
            self.slots, self.tokens_granted, self.tokens_used, self.minute = 0, 0, 0, minute
        self.held += grant.budget
        self.slots += grant.rpm
        self.tokens_granted += grant.tpm
        self.granted_budget = grant.budget or self.granted_budget
        self.granted_slots = grant.rpm or self.granted_slots
        self.granted_tokens = grant.tpm or self.granted_tokens
        self.ends = ends

    def end(self) -> None:
        """No new calls: give back what is not committed to running calls, and the unused slots and tokens."""
        self.draining = self.announce = True
        self.report.release += self.held - self.committed
        self.held = self.committed
        self.report.rpm_back += max(0, self.slots)
        self.report.tpm_back += max(0, self.tokens_granted - self.tokens_used)
        self.slots = 0
        self.tokens_granted = self.tokens_used = 0

    def take_report(self, holder: str, now: float) -> LeaseReport | None:
        pending = self.report
        if not pending and not self.announce:
            return None
        self.report = Pending()
        # A draining lease stays reserved (for its running calls) as long as a dead process's reservation would.
        expires = now + PARALLEL_STALE_SECONDS if self.announce else 0.0
        self.announce = False
        return LeaseReport(level=self.limits, holder=holder, spend=pending.spend, release=pending.release,
                           tokens=pending.tokens, rpm_back=pending.rpm_back, tpm_back=pending.tpm_back,
                           minute=self.minute, expires=expires)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A call admitted under leases: what it committed in each."""

    leases: tuple[Lease, ...]
    amount: int


class LeaseBook:
    """One event loop's leases, the grants it is waiting for and the reports it has not sent."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop = loop
        self.seconds = seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self.leases: dict[str, Lease] = {}
        self.draining: list[Lease] = []
        self.asking: set[str] = set()
        self.declined: dict[str, float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.timer: asyncio.TimerHandle | None = None

    def admit(self, levels: Sequence[LedgerLimits], amount: int, now: float) -> Ticket | None:
        """Admit a call under this process's leases of every level, or None (and ask for the missing leases)."""
        leases: list[Lease] = []
        for level in levels:
            lease = self.leases.get(level.ledger)
            if lease is not None and lease.limits != level:
                self.end(lease)
                lease = None
            if lease is None or not lease.covers(amount, now):
                self.ask(level, amount, now)
                return None
            leases.append(lease)
        for lease in leases:
            lease.take(amount)
            if lease.wanted(amount) != NOTHING:
                self.ask(lease.limits, amount, now)
        return Ticket(tuple(leases), amount)

    def settle(self, ticket: Ticket, actual: int, tokens: int) -> None:
        for lease in ticket.leases:
            lease.settle(ticket.amount, actual, tokens)

    def ask(self, level: LedgerLimits, amount: int, now: float) -> None:
        """Ask for a lease (or more of one) in the background, once at a time per level."""
        if (level.max_parallel is not None or level.ledger in self.asking
                or self.declined.get(level.ledger, 0.0) > now):
            return
        self.asking.add(level.ledger)
        task = self.loop.create_task(self._grant(level, amount))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def lease_end(self, level: LedgerLimits, now: float) -> float:
        ends = now + self.seconds
        if level.rpm_limit is not None or level.tpm_limit is not None:
            ends = min(ends, (math.floor(now / 60) + 1) * 60)  # slots and tokens are the minute's
        if level.window_end:
            ends = min(ends, level.window_end)
        return ends

    async def _grant(self, level: LedgerLimits, amount: int) -> None:
        try:
            now = time.time()
            ends = self.lease_end(level, now)
            lease = self.leases.get(level.ledger)
            usable = lease is not None and lease.limits == level and not lease.draining
            # A new lease asks for every allowance; a top-up only for those running low, so what a process
            # holds stays about one lease's worth however long it keeps serving.
            wanted = lease.wanted(amount) if usable and lease is not None else full_lease(amount)
            grant = await state().lease_grant(
                level, holder=self.holder, wanted=wanted,
                least=LeaseGrant(amount * LEAST_CALLS, LEAST_CALLS, LEAST_TOKENS), expires=ends, share=LEASE_SHARE,
                grace=LEASE_GRACE, now=now)
        except Exception:  # noqa: BLE001 - a background task: calls go on with the atomic admit
            logger.exception("asking for a lease failed")
            self.declined[level.ledger] = time.time() + DECLINED_WAIT  # no storm of failing asks
            return
        finally:
            self.asking.discard(level.ledger)
        if grant is None:
            self.declined[level.ledger] = now + DECLINED_WAIT
            return
        self.declined.pop(level.ledger, None)
        lease = self.leases.get(level.ledger)
        if lease is not None and (lease.limits != level or lease.draining):
            self.end(lease)
            lease = None
        if lease is None:
            lease = self.leases[level.ledger] = Lease(limits=level, ends=ends, minute=math.floor(now / 60))
        lease.extend(grant, ends, math.floor(now / 60))
        self.schedule(ends)

    def end(self, lease: Lease) -> None:
        """End a lease: unused allowances go back with the next report."""
        if self.leases.get(lease.limits.ledger) is lease:
            del self.leases[lease.limits.ledger]
        if not lease.draining:
            lease.end()
            self.draining.append(lease)

    def schedule(self, ends: float) -> None:
        """End leases when they run out: a wake-up at the earliest end."""
        delay = max(0.0, ends - time.time())
        if self.timer is not None and self.timer.when() <= self.loop.time() + delay:
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(delay, self.expire)

    def expire(self) -> None:
        self.timer = None
        now = time.time()
        for lease in [lease for lease in self.leases.values() if lease.ends <= now]:
            self.end(lease)
        if self.leases:
            self.schedule(min(lease.ends for lease in self.leases.values()))
        from apps.teams import settle_queue  # noqa: PLC0415 - settle_queue sends this book's reports

        settle_queue.send_soon()

    def end_all(self) -> None:
        for lease in list(self.leases.values()):
            self.end(lease)

    def take_reports(self) -> list[LeaseReport]:
        """Every lease's report since the last one; fully drained leases are dropped after theirs."""
        now = time.time()
        reports = [report for lease in [*self.leases.values(), *self.draining]
                   if (report := lease.take_report(self.holder, now)) is not None]
        self.draining = [lease for lease in self.draining if lease.running > 0]
        return reports


_books: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LeaseBook] = weakref.WeakKeyDictionary()


def book() -> LeaseBook | None:
    """The running loop's lease book; None when leases are off or the state is in-process (nothing to save)."""
    seconds = settings.TOLLGATE_LEASE_SECONDS
    if seconds <= 0 or state().in_process:
        return None
    loop = asyncio.get_running_loop()
    found = _books.get(loop)
    if found is None:
        found = _books[loop] = LeaseBook(loop, seconds)
    return found


def current_book() -> LeaseBook | None:
    """The running loop's book if it has one (settling and shutdown never create one)."""
    try:
        return _books.get(asyncio.get_running_loop())
    except RuntimeError:
        return None
