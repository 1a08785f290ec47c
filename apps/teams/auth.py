"""Who is calling: the API key from the request headers, checked against the master key and virtual keys."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from apps.core.errors import AuthenticationFailed, PermissionDenied
from apps.teams.master_key import master_key
from apps.teams.routes import RouteRules
from apps.teams.snapshot import KeyRecord, key_cache


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the master key, or one virtual key."""

    is_master: bool
    key: KeyRecord | None = None

    @property
    def token_hash(self) -> str:
        return self.key.token_hash if self.key else ""


MASTER = Principal(is_master=True)


def hash_key(raw_key: str) -> str:
    """The stored form of a key: SHA-256 hex."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def key_from_meta(meta: Mapping[str, object]) -> str | None:
    """The API key from `Authorization: Bearer`, `api-key` or `x-api-key` (WSGI/ASGI META names)."""
    authorization = meta.get("HTTP_AUTHORIZATION")
    if isinstance(authorization, str) and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() or None  # "Bearer " with nothing after it sends no key
        return authorization.strip() if not value else None
    for name in ("HTTP_API_KEY", "HTTP_X_API_KEY"):
        header = meta.get(name)
        if isinstance(header, str) and header.strip():
            return header.strip()
    return None


async def authenticate(meta: Mapping[str, object]) -> Principal:
    """The caller behind these request headers, or AuthenticationFailed (401)."""
    raw_key = key_from_meta(meta)
    if raw_key is None:
        raise AuthenticationFailed("No API key provided. Send 'Authorization: Bearer <key>'.")
    if hmac.compare_digest(raw_key.encode(), master_key().encode()):
        return MASTER
    record = await key_cache.get(hash_key(raw_key))
    if record is None:
        raise AuthenticationFailed("Invalid API key.")
    if record.blocked:
        refused(record, meta, level="team" if record.team_blocked else "key", code="key_blocked")
        raise AuthenticationFailed("This key is blocked.", code="key_blocked")
    if record.is_expired(time.time()):
        refused(record, meta, level="key", code="key_expired")
        raise AuthenticationFailed("This key has expired.", code="key_expired")
    if record.routes is not None:
        try:
            check_route(record.routes, meta)
        except PermissionDenied:
            refused(record, meta, level="key", code="route_not_allowed")
            raise
    return Principal(is_master=False, key=record)


def refused(record: KeyRecord, meta: Mapping[str, object], *, level: str, code: str) -> None:
    """Log the refusal (batched with the spend rows; apps.teams.early_refusals)."""
    from apps.teams.early_refusals import refused_at_the_door  # it needs metering, which needs this module

    if isinstance(meta, MutableMapping):
        refused_at_the_door(record, meta, level=level, code=code)


def check_route(routes: RouteRules, meta: Mapping[str, object]) -> None:
    """Raise 403 when the key's `allowed_routes` do not cover this request's path (LiteLLM's status and words)."""
    path = meta.get("PATH_INFO")
    path = path if isinstance(path, str) else ""
    if not routes.allows(path):
        raise PermissionDenied(f"Virtual key is not allowed to call this route. Only allowed to call routes: "
                               f"{list(routes.names)}. Tried to call route: {path}", code="route_not_allowed")
