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
from apps.teams.key_claims import key_save
from apps.teams.representations import key_json
from apps.teams.models import new_id, Budget, DeletedKey, Organization, OrganizationMembership, Team, TeamMembership, User, VirtualKey
from apps.teams.snapshot import GENERATION, key_ledger, organization_ledger, team_ledger, user_ledger

# Columns no request sets directly: ids, secrets, counters and timestamps the gateway keeps itself.
PROTECTED = frozenset({
    "id", "token_hash", "key_name", "spend", "budget_reset_at", "created_at", "updated_at", "model_spend",
    "rotation_count", "last_rotation_at", "key_rotation_at", "soft_budget_cooldown", "team_id", "organization_id",
    "password", "last_login", "is_superuser", "is_staff", "is_active", "date_joined", "username", "first_name",
    "last_name"})


def settable(model: type[models.Model]) -> frozenset[str]:
    """The columns (and foreign keys, by name) that management requests may set on `model`."""
    return frozenset(f.name for f in model._meta.concrete_fields) - PROTECTED


KEY_FIELDS = settable(VirtualKey)
TEAM_FIELDS = settable(Team)
USER_FIELDS = settable(User)
ORGANIZATION_FIELDS = settable(Organization)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key row and its secret, which is never stored and never shown again."""

    key: VirtualKey
    secret: str


def new_user_id() -> str:
    """LiteLLM's default user id: a random UUID."""
    return new_id()


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
    budget = fields.get("budget")
    inherited = budget.budget_duration if budget is not None and not getattr(row, "budget_duration", "") else ""
    if "budget_duration" in fields or inherited:
        # A row with no window of its own takes its Budget's (`budget_id`), as the hot path reads it.
        duration = fields.get("budget_duration") or inherited
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
    key.spend = fields.get("spend") or key.spend
    key.expires = expiry_for(duration, now)
    key_save(key, param="key", custom=secret is not None)
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
    key_save(key, param="key", custom=False)  # a racing alias meets the unique index: a 400, not a 500
    snapshot_bump(GENERATION)
    return key


@transaction.atomic
def key_regenerate(*, key: VirtualKey, fields: Mapping[str, Any], secret: str | None = None) -> IssuedKey:
    """A new secret for the same key row: spend, windows and limits are kept unless `fields` change them."""
    key = VirtualKey.objects.select_for_update().get(pk=key.pk)
    raw = secret or key_secret()
    key.token_hash, key.key_name = hash_key(raw), key_mask(raw)
    now = timezone.now()
    apply_fields(key, fields, KEY_FIELDS, now)
    key.rotation_count, key.last_rotation_at = key.rotation_count + 1, now
    key_save(key, param="new_key", custom=secret is not None)
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
@transaction.atomic
def key_delete(*, keys: Iterable[VirtualKey], deleted_by: str = "") -> list[str]:
    """Delete keys, keeping each as it was in DeletedKey (for /key/list?status=deleted); returns their hashes."""
    keys = list(keys)
    DeletedKey.objects.bulk_create([DeletedKey(
        token_hash=key.token_hash, key_alias=key.key_alias, user_id=key.user_id, team_id=key.team_id,
        organization_id=key.organization_id, created_by=key.created_by, info=key_json(key), deleted_by=deleted_by)
        for key in keys])
    hashes = [key.token_hash for key in keys]
    VirtualKey.objects.filter(token_hash__in=hashes).delete()
    snapshot_bump(GENERATION)
    return hashes


@transaction.atomic
def team_new(*, fields: Mapping[str, Any], members: Iterable[tuple[User, str]] = (), team_id: str | None = None) -> Team:
    """Create a team (named `team_id`, else a UUID) with its first members."""
    team = Team(team_id=team_id) if team_id else Team()
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
    now = timezone.now()
    apply_fields(team, fields, TEAM_FIELDS, now)
    spend_override(team, team_ledger(team), fields.get("spend"))
    team.save()
    if fields.get("team_member_budget_duration"):  # a new member window starts now for the members without their own
        TeamMembership.objects.filter(team=team).filter(models.Q(budget__isnull=True) | models.Q(
            budget__budget_duration="")).update(budget_reset_at=first_reset(
                now, parse_duration(fields["team_member_budget_duration"])))
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
    duration = team.team_member_budget_duration or team.budget_duration
    if created and duration:
        member.budget_reset_at = first_reset(timezone.now(), parse_duration(duration))
        member.save(update_fields=["budget_reset_at"])
    snapshot_bump(GENERATION)
    return member


@transaction.atomic
def team_member_update(*, member: TeamMembership, role: str | None = None,
                       limits: Mapping[str, Any] | None = None) -> TeamMembership:
    """Change a member's role and (with `limits`: max_budget, rpm_limit, tpm_limit) their own budget row."""
    member = TeamMembership.objects.select_for_update().get(pk=member.pk)
    if role is not None:
        member.role = role
    if limits:
        member.budget = member_budget(member.budget, limits)
    member.save()
    snapshot_bump(GENERATION)
    return member


def member_budget(budget: Budget | None, limits: Mapping[str, Any]) -> Budget:
    """The membership's budget row with `limits` applied (created on first use, as LiteLLM does)."""
    budget = budget or Budget()
    for name, value in limits.items():
        setattr(budget, name, value)
    budget.save()
    return budget


@transaction.atomic
def team_models_change(*, team: Team, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Team:
    """Add models to (or remove them from) a team's model list, keeping its order."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    gone = set(remove)
    models_now = [m for m in team.allowed_models or [] if m not in gone]
    models_now += [m for m in dict.fromkeys(add) if m not in models_now]
    team.allowed_models = models_now
    team.save(update_fields=["allowed_models", "updated_at"])
    snapshot_bump(GENERATION)
    return team


@transaction.atomic
def team_member_delete(*, team: Team, user: User) -> int:
    """Remove a member and the keys they hold in the team."""
    removed = TeamMembership.objects.filter(team=team, user=user).delete()[0]
    VirtualKey.objects.filter(team=team, user=user).delete()
    snapshot_bump(GENERATION)
    return removed


@transaction.atomic
def user_new(*, user_id: str, fields: Mapping[str, Any], teams: Iterable[tuple[Team, str]] = (),
             organizations: Iterable[Organization] = (), key_fields: Mapping[str, Any] | None = None,
             key_duration: str | None = None, password: str | None = None) -> tuple[User, IssuedKey | None]:
    """Create a user, add them to teams (with a role) and organizations, and (unless `key_fields` is None)
    give them a first key."""
    user = User(username=user_id)
    apply_fields(user, fields, USER_FIELDS, timezone.now())
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    for team, role in teams:
        team_member_add(team=team, user=user, role=role)
    for org in organizations:
        organization_member_add(organization=org, user=user, role=OrganizationMembership.Role.INTERNAL_USER)
    issued = None if key_fields is None else key_generate(fields={**key_fields, "user": user},
                                                          duration=key_duration)
    snapshot_bump(GENERATION)
    return user, issued


@transaction.atomic
def user_update(*, user: User, fields: Mapping[str, Any], password: str | None = None) -> User:
    """Change a user's settings (and, with `spend`, their spend; with `password`, their UI password)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    apply_fields(user, fields, USER_FIELDS, timezone.now())
    if password:
        user.set_password(password)
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
def organization_new(*, fields: Mapping[str, Any], organization_id: str | None = None) -> Organization:
    """Create an organization (named `organization_id`, else a UUID)."""
    org = Organization(organization_id=organization_id) if organization_id else Organization()
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


@transaction.atomic
def organization_delete(*, organizations: Iterable[Organization]) -> list[str]:
    """Delete organizations; their teams and keys stay, without an organization (LiteLLM refuses while teams
    remain; the use case checks that)."""
    ids = [org.organization_id for org in organizations]
    Organization.objects.filter(organization_id__in=ids).delete()
    snapshot_bump(GENERATION)
    return ids


@transaction.atomic
def organization_member_add(*, organization: Organization, user: User, role: str,
                            max_budget: Decimal | None = None) -> OrganizationMembership:
    """Add a user to an organization (or change their role there)."""
    member, _ = OrganizationMembership.objects.update_or_create(organization=organization, user=user,
                                                                defaults={"user_role": role})
    if max_budget is not None:
        member.budget = member_budget(member.budget, {"max_budget": max_budget})
        member.save(update_fields=["budget"])
    snapshot_bump(GENERATION)
    return member


@transaction.atomic
def organization_member_update(*, member: OrganizationMembership, role: str | None = None,
                               max_budget: Decimal | None = None) -> OrganizationMembership:
    """Change an organization member's role or budget."""
    member = OrganizationMembership.objects.select_for_update().get(pk=member.pk)
    if role is not None:
        member.user_role = role
    if max_budget is not None:
        member.budget = member_budget(member.budget, {"max_budget": max_budget})
    member.save()
    snapshot_bump(GENERATION)
    return member


@transaction.atomic
def organization_member_delete(*, member: OrganizationMembership) -> None:
    """Remove a user from an organization."""
    member.delete()
    snapshot_bump(GENERATION)
