"""In-process state for the embedded default; generations live in files so local processes agree."""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from django.conf import settings

from apps.core.jsonutil import kept
from apps.core.state import ledger
from apps.core.state.base import (
    COOLDOWN_PREFIX, Admission, LeaseGrant, LeaseReport, LedgerLimits, LostIntent, Settlement)

SWEEP_EVERY = 60.0  # seconds between purges of expired counters, so per-minute keys do not pile up


class MemoryState:
    """State kept in this process; snapshot generations kept as file mtimes under var/.

    Budgets, limits and the spend buffer are per process, so the embedded mode serves from one
    process (settings pin WORKERS to 1 without REDIS_URL).
    """

    in_process = True

    def __init__(self) -> None:
        self._generation_dir = Path(settings.VAR_DIR) / "generations"
        self._generation_dir.mkdir(parents=True, exist_ok=True)
        self._numbers: dict[str, tuple[float, float]] = {}  # key -> (value, expires at, epoch)
        self._swept_at = time.time()
        self._records: ledger.Records = {}
        self._buffer: deque[bytes] = deque()
        self._lock = threading.Lock()  # admin writes and flushes come from worker threads
        self._flush_lock = threading.Lock()

    def _generation_path(self, name: str) -> Path:
        return self._generation_dir / name

    async def generation(self, name: str) -> int:
        try:
            return os.stat(self._generation_path(name)).st_mtime_ns
        except FileNotFoundError:
            return 0

    def bump_generation(self, name: str) -> int:
        path = self._generation_path(name)
        previous = path.read_text() if path.exists() else "0"
        path.write_text(str(int(previous or 0) + 1))
        stamp = os.stat(path).st_mtime_ns
        # Two bumps inside one mtime tick must still differ.
        os.utime(path, ns=(stamp, stamp + 1))
        return stamp + 1

    async def ping(self) -> None:
        return None

    # --- counters, averages and cooldowns --------------------------------------------------------

    def _get(self, key: str, now: float) -> float | None:
        found = self._numbers.get(key)
        if found is None or found[1] <= now:
            return None
        return found[0]

    def _set(self, key: str, value: float, expires: float, now: float) -> None:
        self._numbers[key] = (value, expires)
        if now - self._swept_at >= SWEEP_EVERY:
            self._numbers = {k: v for k, v in self._numbers.items() if v[1] > now}
            self._swept_at = now

    async def values(self, keys: Sequence[str]) -> list[float | None]:
        now = time.time()
        return [self._get(key, now) for key in keys]

    async def add(self, items: Sequence[tuple[str, float, float]]) -> list[float]:
        now = time.time()
        results = []
        for key, amount, ttl in items:
            value = (self._get(key, now) or 0.0) + amount
            self._set(key, value, now + ttl, now)
            results.append(value)
        return results

    async def average(self, key: str, sample: float, *, weight: float, ttl: float) -> float:
        now = time.time()
        old = self._get(key, now)
        value = sample if old is None else old * (1 - weight) + sample * weight
        self._set(key, value, now + ttl, now)
        return value

    async def cooldown_start(self, name: str, seconds: float) -> float:
        now = time.time()
        key = COOLDOWN_PREFIX + name
        deadline = max(now + seconds, self._get(key, now) or 0.0)
        self._set(key, deadline, deadline, now)
        return deadline

    async def cooldowns(self, names: Sequence[str]) -> dict[str, float]:
        found = await self.values([COOLDOWN_PREFIX + name for name in names])
        return {name: deadline for name, deadline in zip(names, found) if deadline is not None}

    # --- budgets, limits and the spend buffer ----------------------------------------------------

    async def admit(self, levels: Sequence[LedgerLimits], *, amount: int, now: float) -> Admission:
        with self._lock:
            return ledger.admit(self._records, levels, amount=amount, now=now)

    async def settle(self, levels: Sequence[LedgerLimits], *, reserved: int, actual: int, tokens: int,
                     now: float, clipped: str = "") -> None:
        with self._lock:
            ledger.settle(self._records, levels, reserved=reserved, actual=actual, tokens=tokens, now=now,
                          clipped=clipped)

    def ledger_spend(self, name: str) -> int | None:
        with self._lock:
            record = self._records.get(name)
            return None if record is None else int(record["spent"])

    def ledger_set_spend(self, name: str, spend: int) -> None:
        with self._lock:
            record = self._records.get(name)
            if record is not None:
                record["spent"] = spend

    async def spend_push(self, record: bytes) -> None:
        self._buffer.append(kept(record))  # held until the flusher stores it: compact (jsonutil.kept)

    def add_soon(self, items: Sequence[tuple[str, float, float]]) -> None:
        now = time.time()
        for key, amount, ttl in items:
            self._set(key, (self._get(key, now) or 0.0) + amount, now + ttl, now)

    async def add_flush(self) -> None:
        return None

    async def settle_and_push(self, levels: Sequence[LedgerLimits], records: Sequence[bytes], *, reserved: int,
                              actual: int, tokens: int, now: float, clipped: str = "") -> None:
        if levels:
            await self.settle(levels, reserved=reserved, actual=actual, tokens=tokens, now=now, clipped=clipped)
        self._buffer.extend(kept(record) for record in records)

    async def settle_and_push_many(self, settlements: Sequence[Settlement],
                                   reports: Sequence[LeaseReport] = ()) -> None:
        if reports:
            raise ValueError("the in-process backend grants no leases, so it takes no lease reports")
        for item in settlements:
            await self.settle_and_push(item.levels, item.records, reserved=item.reserved, actual=item.actual,
                                       tokens=item.tokens, now=item.now, clipped=item.clipped)

    async def lease_grant(self, level: LedgerLimits, *, holder: str, wanted: LeaseGrant, least: LeaseGrant,
                          expires: float, share: int, grace: float, now: float) -> LeaseGrant | None:
        """Always declined: in-process counters are already as close as a lease would be, so every call is
        admitted on its own (one process serves the embedded mode)."""
        return None

    def spend_peek(self, count: int) -> list[bytes]:
        return list(islice(self._buffer, count))

    def spend_ack(self, count: int, *, token: str = "") -> bool:
        """The lock never expires here (one process, a thread lock), so there is nothing to fence."""
        for _ in range(min(count, len(self._buffer))):
            self._buffer.popleft()
        return True

    def intent_open(self, request_id: str, intent: bytes) -> None:
        """Nothing to record: the reservations and the buffer live in this process and die with it (a restart
        seeds budgets from the database), and embedded mode serves from one process."""

    def intents_lost(self) -> list[LostIntent]:
        return []

    def intent_settle_lost(self, lost: LostIntent, *, levels: Sequence[LedgerLimits], leased: bool, reserved: int,
                           actual: int, clipped: str, now: float) -> bool:
        return False

    def spend_pending(self) -> int:
        return len(self._buffer)

    @contextmanager
    def flush_lock(self) -> Iterator[str]:
        acquired = self._flush_lock.acquire(blocking=False)
        try:
            yield "held" if acquired else ""
        finally:
            if acquired:
                self._flush_lock.release()
