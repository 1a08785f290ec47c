"""In-process state for the embedded default; generations live in files so local processes agree."""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from apps.core.state.base import COOLDOWN_PREFIX

SWEEP_EVERY = 60.0  # seconds between purges of expired counters, so per-minute keys do not pile up


class MemoryState:
    """State kept in this process; snapshot generations kept as file mtimes under var/."""

    def __init__(self) -> None:
        self._generation_dir = Path(settings.VAR_DIR) / "generations"
        self._generation_dir.mkdir(parents=True, exist_ok=True)
        self._numbers: dict[str, tuple[float, float]] = {}  # key -> (value, expires at, epoch)
        self._swept_at = time.time()

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
