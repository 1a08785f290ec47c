"""The state backend contract shared by the memory and Redis implementations."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

COOLDOWN_PREFIX = "cooldown:"
PARALLEL_STALE_SECONDS = 900  # in-flight counts and reservations untouched this long belong to dead processes


@dataclass(frozen=True, slots=True)
class LedgerLimits:
    """One budget level (key, user, team member, team, organization) as the caller's snapshot sees it.

    Money is in integer nanodollars (1e-9 USD) so every backend does exact integer arithmetic.
    """

    ledger: str  # backend id of the level's counters, unique for the row's lifetime
    max_budget: int | None = None
    seed_spend: int = 0  # spend to start from when the backend has no counters for this level yet
    window_end: float = 0.0  # epoch seconds when the current budget window ends; 0 = never
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel: int | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer to `admit`: admitted with `reserved` nanodollars held, or which level refused and why."""

    admitted: bool
    reserved: int = 0
    index: int = -1  # position of the refusing level in the list given to `admit`
    reason: str = ""  # "budget", "rpm", "tpm" or "parallel"
    spend: int = 0  # the refusing level's settled spend (budget) or current count (limits)
    limit: int = 0
    retry_after: int = 0  # seconds, for rate limits
    clipped: str = ""  # per level "1" where the reservation was cut to what was left; give it back to settle


@dataclass(frozen=True, slots=True)
class Settlement:
    """One finished call: settle its reservation at `levels` (if any) and buffer its spend `records`."""

    levels: Sequence[LedgerLimits]
    records: Sequence[bytes]
    reserved: int
    actual: int
    tokens: int
    now: float
    clipped: str = ""
    intent: str = ""  # the request id of the call's intent (`intent_open`) to delete with this settle


@dataclass(frozen=True, slots=True)
class LostIntent:
    """An admitted call whose owner (a process's event loop) died before settling it, as `intents_lost` finds it."""

    holder: str
    request_id: str
    intent: bytes  # what the owner recorded (apps.teams.metering.CallIntent)


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """Allowances one process may spend at a level without asking again: nanodollars reserved for it, request
    slots and tokens counted for it in the current minute."""

    budget: int = 0
    rpm: int = 0
    tpm: int = 0


@dataclass(frozen=True, slots=True)
class LeaseReport:
    """What a holder's leased calls did at one level since its last report (see `lease_adjust.lua`)."""

    level: LedgerLimits
    holder: str
    spend: int = 0  # settled cost to add to the level's spend
    release: int = 0  # reservation to give back (taken off the holder's lease too)
    tokens: int = 0  # tokens to count in the current minute
    rpm_back: int = 0  # unused request slots, given back if `minute` is still the current one
    tpm_back: int = 0  # unused tokens, likewise
    minute: int = 0
    expires: float = 0.0  # the holder's lease end from now on (0 = unchanged)


class StateBackend(Protocol):
    """Counters and markers every gateway process must agree on."""

    in_process: bool  # True when the state lives in this process (a read costs a dict lookup, not a round trip)

    async def generation(self, name: str) -> int:
        """Current generation of the snapshot `name` (changes whenever its source rows change)."""
        ...

    def bump_generation(self, name: str) -> int:
        """Mark snapshot `name` stale everywhere; called from sync code after a commit."""
        ...

    async def ping(self) -> None:
        """Raise if the backend cannot be reached."""
        ...

    async def values(self, keys: Sequence[str]) -> list[float | None]:
        """The numbers stored under `keys` (None when missing or expired), in one round trip."""
        ...

    async def add(self, items: Sequence[tuple[str, float, float]]) -> list[float]:
        """Atomically add `amount` to each `(key, amount, ttl_seconds)` counter; the new values."""
        ...

    def add_soon(self, items: Sequence[tuple[str, float, float]]) -> None:
        """`add` without waiting for it: the increments go with this process's next round trip (soon)."""
        ...

    async def add_flush(self) -> None:
        """Send pending `add_soon` increments now."""
        ...

    async def average(self, key: str, sample: float, *, weight: float, ttl: float) -> float:
        """Fold `sample` into the moving average at `key` (new = old*(1-weight) + sample*weight)."""
        ...

    async def cooldown_start(self, name: str, seconds: float) -> float:
        """Cool `name` down until now+seconds; a later deadline already set is kept. The deadline (epoch)."""
        ...

    async def cooldowns(self, names: Sequence[str]) -> dict[str, float]:
        """The names still cooling down, with their deadlines (epoch seconds)."""
        ...

    async def admit(self, levels: Sequence[LedgerLimits], *, amount: int, now: float) -> Admission:
        """Atomically check every level's budget, rpm, tpm and parallel limit, then reserve and count.

        Resets a level whose budget window ended. Reserves `amount`, or what the tightest budget has
        left when that is less; a level that could not cover `amount` refuses other calls until this one
        settles, so at most one call per level runs past its reservation and spend can pass max_budget
        by at most one call's cost. The first level (in list order) that is over a limit refuses the
        call and nothing is changed.
        """
        ...

    async def settle(self, levels: Sequence[LedgerLimits], *, reserved: int, actual: int, tokens: int,
                     now: float, clipped: str = "") -> None:
        """Release a reservation (with the admission's `clipped` marks), add the real cost and tokens,
        and end the call's parallel slot."""
        ...

    def ledger_spend(self, ledger: str) -> int | None:
        """Settled spend of one level in its current window, None when the backend has no counters."""
        ...

    def ledger_set_spend(self, ledger: str, spend: int) -> None:
        """Overwrite one level's settled spend (admin edits, budget resets)."""
        ...

    async def spend_push(self, record: bytes) -> None:
        """Append one serialised spend event to the buffer."""
        ...

    async def settle_and_push(self, levels: Sequence[LedgerLimits], records: Sequence[bytes], *, reserved: int,
                              actual: int, tokens: int, now: float, clipped: str = "") -> None:
        """`settle` when `levels` is not empty, then `spend_push` every record; one round trip where possible."""
        ...

    async def settle_and_push_many(self, settlements: Sequence[Settlement],
                                   reports: Sequence[LeaseReport] = ()) -> None:
        """`settle_and_push` for each settlement and every lease report, in one round trip."""
        ...

    async def lease_grant(self, level: LedgerLimits, *, holder: str, wanted: LeaseGrant, least: LeaseGrant,
                          expires: float, share: int, grace: float, now: float) -> LeaseGrant | None:
        """Reserve allowances at one level for `holder` until `expires`: at most the wanted amounts and 1/share
        of what the level has left, or None when a limited allowance would be less than `least`, so the level's
        calls are admitted one at a time. Leases held past `expires + grace` belong to
        dead processes: their reservations are given back first."""
        ...

    def spend_peek(self, count: int) -> list[bytes]:
        """The oldest `count` buffered events, left in the buffer."""
        ...

    def spend_ack(self, count: int, *, token: str = "") -> bool:
        """Drop the oldest `count` events once they are stored; with `flush_lock`'s token, only while that lock is
        still held (False, nothing dropped, once it is not: another flusher took over)."""
        ...

    def spend_pending(self) -> int:
        """How many events wait in the buffer."""
        ...

    def flush_lock(self) -> AbstractContextManager[str]:
        """Exclusive right to flush the buffer: yields its token, or "" when another flusher holds it."""
        ...

    def intent_open(self, request_id: str, intent: bytes) -> None:
        """Record an admitted call's intent where another process finds it if this one dies before settling it
        (a `Settlement` naming `request_id` deletes it); never waits."""
        ...

    def intents_lost(self) -> list[LostIntent]:
        """The intents whose owner died before settling them."""
        ...

    def intent_settle_lost(self, lost: LostIntent, *, levels: Sequence[LedgerLimits], leased: bool, reserved: int,
                           actual: int, clipped: str, now: float) -> bool:
        """Settle a lost intent exactly once: release its reservation (unless `leased`: the dead owner's lease is
        reclaimed on its own), charge `actual` at `levels`. False when it was settled already."""
        ...
