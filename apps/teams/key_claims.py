"""What a key row claims for itself: its secret and its alias. One already taken is a 400 naming no owner.

A custom secret (`key` on /key/generate, `new_key` on /key/regenerate) is taken when any key holds it, a
regenerated key still accepts it in its grace period, or it is the master key. The answer never says which:
whoever can name a taken secret already holds it, and nobody else may learn whose it is.

An alias is unique among the keys of one owner: one user's keys in one team, a team's keys without a user, a
user's keys without a team (LiteLLM makes aliases unique across all keys, which tells anyone that another
team's alias exists). Whoever may set a key's alias can see every key of that owner, so a taken alias only
ever names a key the caller could list anyway. Two requests racing for one secret or alias meet the
database's unique indexes, which answer the same 400 instead of a 500.
"""
from __future__ import annotations

import hmac

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
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
    """A key of the same owner already has this alias."""
    return InvalidRequest(f"key_alias: '{alias}' is taken by another key of the same user and team; "
                          "choose another.", param="key_alias", code="key_alias_taken")


def same_owner(*, user_id: str | None, team_id: str | None) -> Q:
    """The keys that share an alias scope with a key of this user and team (either may be None)."""
    user = Q(user_id=user_id) if user_id is not None else Q(user__isnull=True)
    return user & (Q(team_id=team_id) if team_id is not None else Q(team__isnull=True))


def alias_clashes(alias: str | None, *, user_id: str | None, team_id: str | None,
                  key_pk: int | None = None) -> bool:
    """True when another key of the same owner already has `alias` (an empty alias never clashes)."""
    if not alias:
        return False
    others: QuerySet[VirtualKey] = VirtualKey.objects.filter(same_owner(user_id=user_id, team_id=team_id),
                                                             key_alias=alias)
    return (others.exclude(pk=key_pk) if key_pk is not None else others).exists()


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
        if alias_clashes(key.key_alias, user_id=key.user_id, team_id=key.team_id, key_pk=key.pk):
            raise alias_taken(key.key_alias) from None
        raise
