"""Virtual keys as the hot path sees them: looked up by hash, cached per process, misses included."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings

from apps.core.state import state

GENERATION = "keys"
MAX_CACHED_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What authorisation needs to know about one virtual key."""

    id: int
    token_hash: str
    key_alias: str
    user_id: int | None
    team_id: int | None
    organization_id: int | None
    models: tuple[str, ...]
    team_models: tuple[str, ...]
    blocked: bool
    expires_at: float | None  # epoch seconds
    metadata: dict[str, object]

    def is_expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def load_key(token_hash: str) -> KeyRecord | None:
    """Read one key (with its team's model list) from the database."""
    from apps.teams.models import VirtualKey

    key = VirtualKey.objects.select_related("team").filter(token_hash=token_hash).first()
    if key is None:
        return None
    team = key.team
    return KeyRecord(
        id=key.pk, token_hash=key.token_hash, key_alias=key.key_alias, user_id=key.user_id, team_id=key.team_id,
        organization_id=team.organization_id if team else None, models=tuple(key.allowed_models or ()),
        team_models=tuple(team.allowed_models or ()) if team else (),
        blocked=key.blocked or bool(team and team.blocked), expires_at=_epoch(key.expires),
        metadata=dict(key.metadata or {}))


class KeyCache:
    """Hash -> KeyRecord (or None for unknown keys), dropped whole when the keys generation moves."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, KeyRecord | None] = OrderedDict()
        self._generation: int | None = None
        self._fresh_until = 0.0

    async def get(self, token_hash: str) -> KeyRecord | None:
        """The key for this hash; one query per distinct hash per generation, none when warm."""
        now = time.monotonic()
        if now >= self._fresh_until:
            generation = await state().generation(GENERATION)
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            self._fresh_until = now + settings.TOLLGATE_SNAPSHOT_TTL
        if token_hash in self._entries:
            self._entries.move_to_end(token_hash)
            return self._entries[token_hash]
        record = await sync_to_async(load_key, thread_sensitive=False)(token_hash)
        self._entries[token_hash] = record
        if len(self._entries) > MAX_CACHED_KEYS:
            self._entries.popitem(last=False)
        return record

    def clear(self) -> None:
        self._entries.clear()
        self._generation, self._fresh_until = None, 0.0


key_cache = KeyCache()
