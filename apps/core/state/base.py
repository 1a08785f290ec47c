"""The state backend contract shared by the memory and Redis implementations."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

COOLDOWN_PREFIX = "cooldown:"


class StateBackend(Protocol):
    """Counters and markers every gateway process must agree on."""

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

    async def average(self, key: str, sample: float, *, weight: float, ttl: float) -> float:
        """Fold `sample` into the moving average at `key` (new = old*(1-weight) + sample*weight)."""
        ...

    async def cooldown_start(self, name: str, seconds: float) -> float:
        """Cool `name` down until now+seconds; a later deadline already set is kept. The deadline (epoch)."""
        ...

    async def cooldowns(self, names: Sequence[str]) -> dict[str, float]:
        """The names still cooling down, with their deadlines (epoch seconds)."""
        ...
