"""What a key row claims for itself: its secret and its alias. One already taken is a 400 naming no owner.

A custom secret (`key` on /key/generate, `new_key` on /key/regenerate) is taken when any key holds it, a
regenerated key still accepts it in its grace period, or it is the master key. The answer never says which:
whoever can name a taken secret already holds it, and nobody else may learn whose it is. Two requests racing
for one secret or alias meet the database's unique index, which answers the same 400 instead of a 500.
"""
from __future__ import annotations

import hmac

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import InvalidRequest
from apps.teams.auth import hash_key
from apps.teams.master_key import master_key
from apps.teams.models import DeprecatedKey, VirtualKey


class KeySecretTaken(InvalidRequest):
    """A custom secret that is already in use (by anyone)."""

    code = "key_taken"

    def __init__(self, param: str) -> None:
        super().__init__(f"{param}: this key is already in use; choose another secret.", param=param)


def alias_taken(alias: str) -> InvalidRequest:
    """LiteLLM's rule: key aliases are unique across all keys (the answer names no owner)."""
    return InvalidRequest(f"Unique key aliases across all keys are required: '{alias}' is taken.", param="key_alias")


def secret_taken(token_hash: str) -> bool:
    """True when a key, a secret in its grace period or the master key already has this hash."""
    if hmac.compare_digest(token_hash.encode(), hash_key(master_key()).encode()):
        return True
    if VirtualKey.objects.filter(token_hash=token_hash).exists():
        return True
    return DeprecatedKey.objects.filter(token_hash=token_hash, revoke_at__gt=timezone.now()).exists()


def key_save(key: VirtualKey, *, param: str, custom: bool) -> None:
    """Save a key row whose secret may be client-chosen (`custom`); a taken secret or alias is a 400."""
    if custom and secret_taken(key.token_hash):
        raise KeySecretTaken(param)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the unique index's refusal
            key.save()
    except IntegrityError:
        others = VirtualKey.objects.exclude(pk=key.pk) if key.pk else VirtualKey.objects.all()
        if others.filter(token_hash=key.token_hash).exists():
            raise KeySecretTaken(param) from None
        if key.key_alias and others.filter(key_alias=key.key_alias).exists():
            raise alias_taken(key.key_alias) from None
        raise
