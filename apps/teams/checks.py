"""System checks of the teams app: in production mode a weak or well-known master key stops start-up.

`manage.py serve` (and every other command) runs the system checks first, so the gateway never starts on a
master key anyone could guess: shorter than 32 characters, or one the docs of LiteLLM and its peers publish
(`sk-1234`), as LiteLLM itself now refuses.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

MASTER_KEY_MIN_LENGTH = 32
# Published in LiteLLM's and Tollgate's docs, quick starts and compose files, so the first keys anyone tries.
WELL_KNOWN_MASTER_KEYS = frozenset({
    "sk-1234", "sk-12345", "sk-123456", "sk-1234567890", "sk-admin", "sk-master", "sk-master-key", "sk-test",
    "sk-litellm", "sk-litellm-master-key", "sk-password", "sk-changeme", "sk-secret", "sk-tollgate"})


def master_key_weakness(key: str) -> str | None:
    """Why `key` may not be a production master key, or None when it may."""
    if key in WELL_KNOWN_MASTER_KEYS:
        return "is a well-known example key"
    if len(key) < MASTER_KEY_MIN_LENGTH:
        return f"is shorter than {MASTER_KEY_MIN_LENGTH} characters"
    if len(set(key[3:])) < 8:
        return "repeats too few characters to be unguessable"
    return None


@register("security")
def strong_master_key(app_configs: Any, **kwargs: Any) -> list[Error]:
    """In production mode (TOLLGATE_PRODUCTION=1) the master key must be unguessable."""
    if not settings.PRODUCTION:
        return []
    from apps.teams.master_key import master_key

    weakness = master_key_weakness(master_key())
    if weakness is None:
        return []
    return [Error(f"TOLLGATE_MASTER_KEY (or general_settings.master_key) {weakness}: in production mode it must be "
                  f"{MASTER_KEY_MIN_LENGTH}+ characters, sk- then random ones, e.g. "
                  "python -c 'import secrets; print(\"sk-\" + secrets.token_urlsafe(32))'", id="teams.E001")]
