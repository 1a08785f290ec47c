"""The state backend contract shared by the memory and Redis implementations."""
from __future__ import annotations

from typing import Protocol


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
