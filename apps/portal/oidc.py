"""Single sign-on with OpenID Connect (mozilla-django-oidc): users by their `sub`, groups mapped to teams and roles.

A user is found by the provider's subject (`User.sso_user_id`), never by email, so an identity provider cannot
take over a local account with the same address. At every login the groups claim decides:
- `TOLLGATE_OIDC_ADMIN_GROUPS`: proxy admin (staff and superuser in the admin);
- `TOLLGATE_OIDC_VIEWER_GROUPS`: proxy admin viewer;
- `<TOLLGATE_OIDC_TEAM_PREFIX><team_id>` (`team:search`): member of that existing team, `...:admin` its admin.
Team memberships the claim no longer lists are removed (the identity provider owns them). There is no cap on
how many users sign in.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.core.audit_context import scope_caller_set
from apps.teams import services
from apps.teams.models import Team, TeamMembership, User
from apps.teams.selectors import user_find

log = logging.getLogger(__name__)


def groups_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The groups claim as a set of names (a list, or one space- or comma-separated string)."""
    raw = claims.get(settings.TOLLGATE_OIDC_GROUPS_CLAIM) or ()
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    return frozenset(str(group) for group in raw)


def role_for(groups: frozenset[str]) -> str:
    if groups & settings.TOLLGATE_OIDC_ADMIN_GROUPS:
        return User.Role.PROXY_ADMIN
    if groups & settings.TOLLGATE_OIDC_VIEWER_GROUPS:
        return User.Role.PROXY_ADMIN_VIEWER
    return User.Role.INTERNAL_USER


def team_roles(groups: frozenset[str]) -> dict[str, str]:
    """{team_id: membership role} named by the groups (an admin group wins over a member one)."""
    prefix, roles = settings.TOLLGATE_OIDC_TEAM_PREFIX, dict[str, str]()
    for group in sorted(groups):
        if not group.startswith(prefix):
            continue
        name = group[len(prefix):]
        if name.endswith(":admin"):
            roles[name.removesuffix(":admin")] = TeamMembership.Role.ADMIN
        else:
            roles.setdefault(name, TeamMembership.Role.MEMBER)
    return roles


def free_username(claims: Mapping[str, Any]) -> str:
    """preferred_username, else email, else sub; suffixed with the subject when a local user has it."""
    base = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:120]
    return base if user_find(base) is None else f"{base}-{str(claims['sub'])[:40]}"


@transaction.atomic
def sso_user_sync(*, user: User, claims: Mapping[str, Any]) -> User:
    """Apply the claims' email, name, role and team memberships to the user."""
    groups = groups_of(claims)
    role = role_for(groups)
    user = services.user_update(user=user, fields={"user_role": role, "email": claims.get("email") or user.email})
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.is_staff = user.is_superuser = role == User.Role.PROXY_ADMIN
    user.save(update_fields=["first_name", "last_name", "is_staff", "is_superuser"])
    wanted = team_roles(groups)
    for team in Team.objects.filter(team_id__in=list(wanted)):
        services.team_member_add(team=team, user=user, role=wanted[team.team_id])
    for member in TeamMembership.objects.filter(user=user).exclude(team_id__in=list(wanted)).select_related("team"):
        services.team_member_delete(team=member.team, user=user)
    return user


class GroupMappingBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """mozilla-django-oidc's backend, keyed by `sub`, with the group mapping applied at every login."""

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims, with the userinfo endpoint's on top when one is configured."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            claims.update(super().get_userinfo(access_token, id_token, payload))
        return claims

    def authenticate(self, request: Any, **kwargs: Any) -> User | None:
        """The code flow; a token that fails a check (signature, nonce, audience) is a failed login, not a 400."""
        try:
            return super().authenticate(request, **kwargs)  # type: ignore[no-any-return]
        except SuspiciousOperation as error:
            log.warning("single sign-on refused: %s", error)
            return None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library's signature, expiry and nonce checks, and the audience: a token minted for another client of
        the same provider is refused."""
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        if settings.OIDC_RP_CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
            raise SuspiciousOperation("The ID token was issued for another client.")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        scope_caller_set(f"sso:{claims.get('sub')}")
        return User.objects.filter(sso_user_id=str(claims["sub"]))

    def create_user(self, claims: dict[str, Any]) -> User:
        user, _ = services.user_new(user_id=free_username(claims), fields={"sso_user_id": str(claims["sub"])})
        return sso_user_sync(user=user, claims=claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        return sso_user_sync(user=user, claims=claims)
