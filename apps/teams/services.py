"""Writes for keys, teams, members, users and organizations. Each is atomic and bumps the key snapshot.

A key's secret (`sk-...`) exists only in the value returned by `key_generate` / `key_regenerate`;
the database keeps its SHA-256. Regenerating swaps the hash and keeps the key's row, so its spend,
budget window and counters carry over, and the old secret stops working at once.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from apps.core.snapshots import snapshot_bump
from apps.core.state import state
from apps.teams.auth import hash_key
from apps.teams.costing import to_nanos
from apps.teams.durations import add_duration, first_reset, parse_duration
from apps.teams.models import Organization, Team, TeamMembership, User, VirtualKey
from apps.teams.snapshot import GENERATION, key_ledger, organization_ledger, team_ledger, user_ledger

BUDGET_FIELDS = ("max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests")
KEY_FIELDS = (*BUDGET_FIELDS, "key_alias", "allowed_models", "metadata", "blocked", "user", "team")
TEAM_FIELDS = (*BUDGET_FIELDS, "team_alias", "allowed_models", "metadata", "blocked", "team_member_budget",
               "organization")
USER_FIELDS = (*BUDGET_FIELDS, "email", "user_role", "allowed_models", "metadata")
ORGANIZATION_FIELDS = (*BUDGET_FIELDS, "organization_alias", "allowed_models", "metadata")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key row and its secret, which is never stored and never shown again."""

    key: VirtualKey
    secret: str


def key_secret() -> str:
    """A fresh `sk-...` secret."""
    return f"sk-{secrets.token_urlsafe(32)}"


def key_mask(secret: str) -> str:
    """The preview LiteLLM shows for a key: `sk-...abcd`."""
    return f"sk-...{secret[-4:]}"


def expiry_for(duration: str | None, now: datetime) -> datetime | None:
    """When a key with this `duration` expires (None: never)."""
    return add_duration(now, parse_duration(duration)) if duration else None


def apply_fields(row: models.Model, fields: Mapping[str, Any], allowed: Iterable[str], now: datetime) -> list[str]:
    """Set the allowed fields on `row`; a new or changed budget_duration starts a new window."""
    changed = []
    for name in allowed:
        if name in fields:
            setattr(row, name, fields[name])
            changed.append(name)
    if "budget_duration" in fields:
        duration = fields["budget_duration"]
        reset_at = first_reset(now, parse_duration(duration)) if duration else None
        row.budget_reset_at = reset_at  # type: ignore[attr-defined]
        changed.append("budget_reset_at")
    return changed


def spend_override(row: models.Model, ledger: str, spend: Decimal | None) -> None:
    """Set a row's spend and, after commit, the live counter that the hot path reads."""
    if spend is None:
        return
    row.spend = spend  # type: ignore[attr-defined]
    transaction.on_commit(lambda: state().ledger_set_spend(ledger, to_nanos(spend)))


@transaction.atomic
def key_generate(*, fields: Mapping[str, Any], duration: str | None = None, secret: str | None = None) -> IssuedKey:
    """Create a key; returns it with its secret."""
    raw = secret or key_secret()
    key = VirtualKey(token_hash=hash_key(raw), key_name=key_mask(raw))
    now = timezone.now()
    apply_fields(key, fields, KEY_FIELDS, now)
    key.expires = expiry_for(duration, now)
    key.save()
    snapshot_bump(GENERATION)
    return IssuedKey(key, raw)


@transaction.atomic
def key_update(*, key: VirtualKey, fields: Mapping[str, Any], duration: str | None = None) -> VirtualKey:
    """Change a key's settings; `duration` restarts its lifetime from now, `spend` overrides its spend."""
    key = VirtualKey.objects.select_for_update().get(pk=key.pk)
    now = timezone.now()
    apply_fields(key, fields, KEY_FIELDS, now)
    if duration is not None:
        key.expires = expiry_for(duration, now)
    spend_override(key, key_ledger(key), fields.get("spend"))
    key.save()
    snapshot_bump(GENERATION)
    return key


@transaction.atomic
def key_regenerate(*, key: VirtualKey, fields: Mapping[str, Any], secret: str | None = None) -> IssuedKey:
    """A new secret for the same key row: spend, windows and limits are kept unless `fields` change them."""
    key = VirtualKey.objects.select_for_update().get(pk=key.pk)
    raw = secret or key_secret()
    key.token_hash, key.key_name = hash_key(raw), key_mask(raw)
    apply_fields(key, fields, KEY_FIELDS, timezone.now())
    key.save()
    snapshot_bump(GENERATION)
    return IssuedKey(key, raw)


@transaction.atomic
def key_block(*, key: VirtualKey, blocked: bool = True) -> VirtualKey:
    """Block (or unblock) a key; calls with it get 401 from the next snapshot check on."""
    key = VirtualKey.objects.select_for_update().get(pk=key.pk)
    key.blocked = blocked
    key.save(update_fields=["blocked", "updated_at"])
    snapshot_bump(GENERATION)
    return key


@transaction.atomic
def key_delete(*, keys: Iterable[VirtualKey]) -> list[str]:
    """Delete keys; returns their hashes."""
    hashes = [key.token_hash for key in keys]
    VirtualKey.objects.filter(token_hash__in=hashes).delete()
    snapshot_bump(GENERATION)
    return hashes


@transaction.atomic
def team_new(*, fields: Mapping[str, Any], members: Iterable[tuple[User, str]] = ()) -> Team:
    """Create a team with its first members."""
    team = Team()
    apply_fields(team, fields, TEAM_FIELDS, timezone.now())
    team.save()
    for user, role in members:
        team_member_add(team=team, user=user, role=role)
    snapshot_bump(GENERATION)
    return team


@transaction.atomic
def team_update(*, team: Team, fields: Mapping[str, Any]) -> Team:
    """Change a team's settings (and, with `spend`, its spend)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    apply_fields(team, fields, TEAM_FIELDS, timezone.now())
    spend_override(team, team_ledger(team), fields.get("spend"))
    team.save()
    snapshot_bump(GENERATION)
    return team


@transaction.atomic
def team_delete(*, teams: Iterable[Team]) -> list[str]:
    """Delete teams with their keys and memberships; returns their ids."""
    ids = [team.team_id for team in teams]
    Team.objects.filter(team_id__in=ids).delete()
    snapshot_bump(GENERATION)
    return ids


@transaction.atomic
def team_member_add(*, team: Team, user: User, role: str) -> TeamMembership:
    """Add a member (or change the role of an existing one)."""
    member, created = TeamMembership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created and member.role != role:
        member.role = role
        member.save(update_fields=["role"])
    if created and team.budget_duration:
        member.budget_reset_at = first_reset(timezone.now(), parse_duration(team.budget_duration))
        member.save(update_fields=["budget_reset_at"])
    snapshot_bump(GENERATION)
    return member


@transaction.atomic
def team_member_delete(*, team: Team, user: User) -> int:
    """Remove a member and the keys they hold in the team."""
    removed = TeamMembership.objects.filter(team=team, user=user).delete()[0]
    VirtualKey.objects.filter(team=team, user=user).delete()
    snapshot_bump(GENERATION)
    return removed


@transaction.atomic
def user_new(*, user_id: str, fields: Mapping[str, Any], teams: Iterable[Team] = (),
             key_fields: Mapping[str, Any] | None = None) -> tuple[User, IssuedKey | None]:
    """Create a user, add them to teams, and (unless `key_fields` is None) give them a first key."""
    user = User(username=user_id)
    apply_fields(user, fields, USER_FIELDS, timezone.now())
    user.set_unusable_password()
    user.save()
    for team in teams:
        team_member_add(team=team, user=user, role=TeamMembership.Role.MEMBER)
    issued = None if key_fields is None else key_generate(fields={**key_fields, "user": user})
    snapshot_bump(GENERATION)
    return user, issued


@transaction.atomic
def user_update(*, user: User, fields: Mapping[str, Any]) -> User:
    """Change a user's settings (and, with `spend`, their spend)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    apply_fields(user, fields, USER_FIELDS, timezone.now())
    spend_override(user, user_ledger(user), fields.get("spend"))
    user.save()
    snapshot_bump(GENERATION)
    return user


@transaction.atomic
def user_delete(*, users: Iterable[User]) -> list[str]:
    """Delete users with their keys and memberships."""
    names = [user.username for user in users]
    User.objects.filter(username__in=names).delete()
    snapshot_bump(GENERATION)
    return names


@transaction.atomic
def organization_new(*, fields: Mapping[str, Any]) -> Organization:
    """Create an organization."""
    org = Organization()
    apply_fields(org, fields, ORGANIZATION_FIELDS, timezone.now())
    org.save()
    snapshot_bump(GENERATION)
    return org


@transaction.atomic
def organization_update(*, organization: Organization, fields: Mapping[str, Any]) -> Organization:
    """Change an organization's settings (and, with `spend`, its spend)."""
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    apply_fields(org, fields, ORGANIZATION_FIELDS, timezone.now())
    spend_override(org, organization_ledger(org), fields.get("spend"))
    org.save()
    snapshot_bump(GENERATION)
    return org
