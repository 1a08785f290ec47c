"""Shared runtime state (snapshot generations, counters, limits, cooldowns) behind one interface.

`MemoryState` keeps it in this process (generations in files under var/, so every local process
sees a bump); `RedisState` keeps it in Redis so every replica shares it. `settings.TOLLGATE_STATE_BACKEND`
picks one by dotted path.
"""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from apps.core.state.base import StateBackend


@lru_cache(maxsize=1)
def state() -> StateBackend:
    """The process-wide state backend named by settings."""
    backend_class = import_string(settings.TOLLGATE_STATE_BACKEND)
    return backend_class()


def reset_state() -> None:
    """Forget the backend instance (tests that switch settings)."""
    state.cache_clear()
