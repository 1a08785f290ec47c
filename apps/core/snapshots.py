"""Per-process caches of immutable tables, rebuilt only when their generation changes."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction

from apps.core.state import state

T = TypeVar("T")


def with_fresh_connection(loader: Callable[..., T]) -> Callable[..., T]:
    """`loader` run after dropping this thread's dead database connection (a restarted server), if any.

    Loaders run in pool threads outside any request, so Django's per-request cleanup never runs there.
    """
    def run(*args: object, **kwargs: object) -> T:
        close_old_connections()
        return loader(*args, **kwargs)
    return run


class SnapshotCache(Generic[T]):
    """Hold the value `loader()` built; re-check the generation at most every TOLLGATE_SNAPSHOT_TTL."""

    def __init__(self, name: str, loader: Callable[[], T]) -> None:
        self.name = name
        self.loader = loader
        self._value: T | None = None
        self._generation: int | None = None
        self._fresh_until = 0.0
        self._lock: asyncio.Lock | None = None

    async def get(self) -> T:
        """The current table; no database query unless the generation moved."""
        value = self._value
        if value is not None and time.monotonic() < self._fresh_until:
            return value
        generation = await state().generation(self.name)
        # Re-read after the await: a concurrent rebuild may have stored a newer table meanwhile.
        value = self._value
        if value is None or generation != self._generation:
            value = await self._rebuild(generation)
        self._fresh_until = time.monotonic() + settings.TOLLGATE_SNAPSHOT_TTL
        return value

    async def _rebuild(self, generation: int) -> T:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._value is not None and self._generation == generation:
                return self._value
            value = await sync_to_async(with_fresh_connection(self.loader), thread_sensitive=False)()
            self._value, self._generation = value, generation
            return value

    def load_now(self) -> T:
        """Build synchronously (management commands, the SDK, tests)."""
        self._value = self.loader()
        return self._value

    def clear(self) -> None:
        """Drop the cached value in this process."""
        self._value, self._generation, self._fresh_until = None, None, 0.0


def snapshot_bump(name: str) -> None:
    """Invalidate snapshot `name` in every process once the current transaction commits."""
    transaction.on_commit(lambda: state().bump_generation(name))
