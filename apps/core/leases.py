"""A process's claim on work it runs, in the state backend: renewed while the work runs, so one that ran out tells
another replica the process died (A2A tasks, background responses)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from apps.core.state import state


async def lease_hold(key: str, seconds: float) -> None:
    """Hold (or renew) the lease `key` for `seconds`."""
    await state().add([(key, 1, seconds)])


async def leases_held(ids: Sequence[str], key: Callable[[str], str]) -> set[str]:
    """Which of `ids` have a live lease (at `key(id)`)."""
    if not ids:
        return set()
    found = await state().values([key(item) for item in ids])
    return {item for item, value in zip(ids, found) if value}
