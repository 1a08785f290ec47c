"""Reads for the management API, always scoped by who is asking.

Roles: the master key and `proxy_admin` users see and change everything; `proxy_admin_viewer` sees
everything; a team admin sees and manages its teams' keys and members; any other key sees itself,
its user's keys, its teams and its own spend. An object outside the caller's view is "not found"
(404), never "forbidden", so nobody learns what other teams own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.core.errors import InvalidRequest, NotFound, PermissionDenied
from apps.teams.auth import hash_key
from apps.teams.models import Organization, OrganizationMembership, SpendLog, Team, TeamMembership, User, VirtualKey

ADMIN_ROLES = frozenset({User.Role.PROXY_ADMIN})
READ_ALL_ROLES = frozenset({User.Role.PROXY_ADMIN, User.Role.PROXY_ADMIN_VIEWER})
READ_ONLY_ROLES = frozenset({User.Role.PROXY_ADMIN_VIEWER, User.Role.INTERNAL_USER_VIEWER})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling the management API, and which teams they belong to or run."""

    role: str
    key_id: int | None = None
    user_id: str | None = None
    team_id: str | None = None
    admin_team_ids: frozenset[str] = field(default_factory=frozenset)  # with every team of an org it runs
    member_team_ids: frozenset[str] = field(default_factory=frozenset)
    org_admin_ids: frozenset[str] = field(default_factory=frozenset)  # organizations it is org_admin of
    allowed_routes: tuple[str, ...] = ()  # the key's, checked by the API's authentication
    is_authenticated: ClassVar[bool] = True  # DRF reads request.user.is_authenticated

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL_ROLES

    @property
    def read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES

    def manages_team(self, team_id: str | None) -> bool:
        return self.is_admin or (team_id is not None and team_id in self.admin_team_ids)

    def manages_organization(self, organization_id: str | None) -> bool:
        return self.is_admin or (organization_id is not None and organization_id in self.org_admin_ids)


ROOT = Caller(role=User.Role.PROXY_ADMIN)


def caller_for_key(raw_key: str) -> Caller | None:
    """The caller behind a virtual key, or None for unknown, blocked or expired keys."""
    token_hash = hash_key(raw_key)
    key = VirtualKey.objects.select_related("user", "team").filter(token_hash=token_hash).first()
    if key is None:  # a regenerated key's previous secret, within its grace period
        key = VirtualKey.objects.select_related("user", "team").filter(
            deprecated_secrets__token_hash=token_hash, deprecated_secrets__revoke_at__gt=timezone.now()).first()
    if key is None or key.blocked or (key.team is not None and key.team.blocked):
        return None
    if key.expires is not None and key.expires.timestamp() <= time.time():
        return None
    admin, member, orgs = memberships(key.user) if key.user is not None else (set(), set(), set())
    if key.team_id is not None:
        member.add(key.team_id)
    return Caller(role=key.user.user_role if key.user is not None else User.Role.INTERNAL_USER, key_id=key.pk,
                  user_id=key.user_id, team_id=key.team_id, admin_team_ids=frozenset(admin),
                  member_team_ids=frozenset(member), org_admin_ids=frozenset(orgs),
                  allowed_routes=tuple(str(route) for route in key.allowed_routes or ()))


def memberships(user: User) -> tuple[set[str], set[str], set[str]]:
    """(teams it runs, teams it is in, organizations it is org_admin of): an org admin runs its orgs' teams."""
    admin: set[str] = set()
    member: set[str] = set()
    for team_id, member_role in TeamMembership.objects.filter(user=user).values_list("team_id", "role"):
        member.add(str(team_id))  # the stubs type a to_field key as int; it holds Team.team_id
        if member_role == TeamMembership.Role.ADMIN:
            admin.add(str(team_id))
    orgs = {str(org_id) for org_id in OrganizationMembership.objects.filter(
        user=user, user_role=OrganizationMembership.Role.ORG_ADMIN).values_list("organization_id", flat=True)}
    if orgs:
        org_teams = {str(t) for t in Team.objects.filter(organization_id__in=orgs).values_list("team_id", flat=True)}
        admin |= org_teams
        member |= org_teams
    return admin, member, orgs


def caller_for_user(user: User) -> Caller:
    """The caller a logged-in web user acts as (the portal): their role, their teams and the ones they run."""
    admin, member, orgs = memberships(user)
    return Caller(role=user.user_role, user_id=user.username, admin_team_ids=frozenset(admin),
                  member_team_ids=frozenset(member), org_admin_ids=frozenset(orgs))


def own_keys(caller: Caller) -> Q:
    return Q(user_id=caller.user_id) if caller.user_id is not None else Q(pk=caller.key_id)


def key_list(caller: Caller) -> QuerySet[VirtualKey]:
    """Keys the caller may see: all for admins, else its own and those of teams it runs."""
    keys = VirtualKey.objects.select_related("user", "team").order_by("id")
    if caller.reads_all:
        return keys
    return keys.filter(own_keys(caller) | Q(team_id__in=caller.admin_team_ids))


def key_get(caller: Caller, ref: str, *, manage: bool = False) -> VirtualKey:
    """A visible key by its secret (`sk-...`) or its hash; `manage` asks for team-admin rights on it."""
    token_hash = hash_key(ref) if ref.startswith("sk-") else ref
    key = key_list(caller).filter(token_hash=token_hash).first()
    if key is None:
        raise NotFound("Key not found.", param="key")
    if manage and not caller.manages_team(key.team_id):
        raise PermissionDenied("Only a proxy admin or an admin of the key's team can do this.", param="key")
    return key


def key_get_by_alias(caller: Caller, alias: str) -> VirtualKey:
    """The one visible key with this alias (aliases are unique per owner, so a caller may see several)."""
    keys = list(key_list(caller).filter(key_alias=alias)[:2])
    if not keys:
        raise NotFound(f"Key with alias '{alias}' not found.", param="key_aliases")
    if len(keys) > 1:
        raise InvalidRequest(f"Several of your keys have the alias '{alias}'; name them by key instead.",
                             param="key_aliases")
    return keys[0]


def team_list(caller: Caller) -> QuerySet[Team]:
    """Teams the caller may see: all for admins, else the ones it belongs to."""
    teams = Team.objects.select_related("organization").order_by("id")
    return teams if caller.reads_all else teams.filter(team_id__in=caller.member_team_ids)


def team_get(caller: Caller, team_id: str, *, manage: bool = False) -> Team:
    """A visible team; `manage` asks for team-admin rights on it."""
    team = team_list(caller).filter(team_id=str(team_id)).first()
    if team is None:
        raise NotFound(f"Team '{team_id}' not found.", param="team_id")
    if manage and not caller.manages_team(team.team_id):
        raise PermissionDenied("Only a proxy admin or an admin of this team can do this.", param="team_id")
    return team


def team_members(team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(team=team).select_related("user", "budget").order_by("id")


def user_list(caller: Caller) -> QuerySet[User]:
    """Users the caller may see: all for admins, else itself and the members of teams it runs."""
    users = User.objects.order_by("id")
    if caller.reads_all:
        return users
    return users.filter(Q(username=caller.user_id) | Q(memberships__team_id__in=caller.admin_team_ids) |
                        Q(organization_memberships__organization_id__in=caller.org_admin_ids)).distinct()


def user_get(caller: Caller, user_id: str | None = None, *, email: str | None = None) -> User:
    """A visible user by LiteLLM `user_id` (our username) or email."""
    users = user_list(caller)
    user = users.filter(username=user_id).first() if user_id else users.filter(email=email).first() if email \
        else None
    if user is None:
        raise NotFound(f"User '{user_id or email}' not found.", param="user_id")
    return user


def user_find(user_id: str | None = None, *, email: str | None = None) -> User | None:
    """Any user by id or email (for services that add members; scope is checked on the team)."""
    if user_id:
        return User.objects.filter(username=user_id).first()
    return User.objects.filter(email=email).first() if email else None


def organization_list(caller: Caller) -> QuerySet[Organization]:
    """Organizations the caller may see: all for proxy admins and viewers, an org admin's own, none otherwise."""
    orgs = Organization.objects.select_related("budget").order_by("id")
    return orgs if caller.reads_all else orgs.filter(organization_id__in=caller.org_admin_ids)


def organization_get(caller: Caller, organization_id: str, *, manage: bool = False) -> Organization:
    """A visible organization; `manage` asks for proxy-admin or org-admin rights on it."""
    org = organization_list(caller).filter(organization_id=organization_id).first()
    if org is None:
        raise NotFound(f"Organization '{organization_id}' not found.", param="organization_id")
    if manage and not caller.manages_organization(org.organization_id):
        raise PermissionDenied("Only a proxy admin or an org admin of this organization can do this.",
                               param="organization_id")
    return org


def spend_logs(caller: Caller, *, start: datetime | None = None, end: datetime | None = None) -> QuerySet[SpendLog]:
    """Spend rows the caller may see: all for admins, else its teams' (as admin) and its own."""
    rows = SpendLog.objects.order_by("-start_time", "request_id", "attempt")
    if not caller.reads_all:
        mine = Q(team_id__in=caller.admin_team_ids) | Q(key_id=caller.key_id)
        if caller.user_id is not None:
            mine |= Q(user_id=caller.user_id)
        rows = rows.filter(mine)
    if start is not None:
        rows = rows.filter(start_time__gte=start)
    if end is not None:
        rows = rows.filter(start_time__lt=end)
    return rows
