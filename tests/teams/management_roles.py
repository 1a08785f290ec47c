"""The actors and world of the role x endpoint matrix: the cast plus a proxy admin, a viewer, keys that must
not work (blocked, expired, a key's hash sent as the key), and one of each object the management API manages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.routing.models import Deployment
from apps.teams import end_users, services
from apps.teams.models import (Budget, EndUser, Organization, OrganizationMembership, Team, TeamMembership, User,
                               VirtualKey)
from tests.teams.conftest import Actor, Cast, make_key, make_user

MODEL_ID = "matrix-model-id"  # the model_info.id of the one stored model
BUDGET_ID = "matrix-budget"
END_USER_ID = "matrix-customer"


@dataclass(frozen=True)
class Roles:
    """The cast, with the actors the cast lacks and an organization with no teams (so it can be deleted)."""

    cast: Cast
    admin: Actor  # a proxy_admin user's key
    viewer: Actor  # a proxy_admin_viewer user's key
    blocked: str  # secrets (or a hash) that must authenticate as nobody
    expired: str
    hashed: str
    empty_org: Organization

    def secret(self, name: str) -> str:
        if name in ("blocked", "expired", "hashed"):
            return str(getattr(self, name))
        return (getattr(self, name) if name in ("admin", "viewer") else self.cast.actor(name)).secret


def roles_for(cast: Cast) -> Roles:
    """Add the matrix's actors and objects to `cast` (all committed, for the gateway process to see)."""
    actors = {}
    for name, role in (("ada", User.Role.PROXY_ADMIN), ("vera", User.Role.PROXY_ADMIN_VIEWER)):
        user = make_user(name, user_role=role)
        key, secret = make_key(user, None, key_alias=f"{name}-key")
        actors[name] = Actor(name, secret, key, user)
    bob = cast.bob.user
    _, blocked = make_key(bob, cast.team_a, key_alias="bob-blocked", blocked=True)
    expired_key, expired = make_key(bob, cast.team_a, key_alias="bob-expired")
    VirtualKey.objects.filter(pk=expired_key.pk).update(expires=timezone.now() - timedelta(minutes=1))
    empty_org = services.organization_new(fields={"organization_alias": "empty-org"})
    services.organization_member_add(organization=cast.org, user=cast.alice.user, role="internal_user")  # type: ignore[arg-type]
    budget = end_users.budget_new(fields={"max_budget": 3}, budget_id=BUDGET_ID)
    end_users.end_user_new(user_id=END_USER_ID, fields={"alias": "matrix"}, budget=budget)
    Deployment.objects.create(model_name="matrix-model", provider="mock", provider_model="gpt-4o-mini",
                              config_id=MODEL_ID)
    hashed = cast.bob.key.token_hash  # type: ignore[union-attr]
    return Roles(cast=cast, admin=actors["ada"], viewer=actors["vera"], blocked=blocked, expired=expired,
                 hashed=hashed, empty_org=empty_org)


def world_state() -> tuple[Any, ...]:
    """Every row the management API can change, as plain values: equal before and after a refused call."""
    return (
        sorted(VirtualKey.objects.values_list("token_hash", "key_alias", "blocked", "max_budget", "spend", "user_id",
                                              "team_id", "allowed_models", "expires")),
        sorted(Team.objects.values_list("team_id", "team_alias", "max_budget", "blocked", "allowed_models",
                                        "organization_id")),
        sorted(TeamMembership.objects.values_list("team_id", "user__username", "role", "budget_id")),
        sorted(User.objects.values_list("username", "user_role", "max_budget", "spend")),
        sorted(Organization.objects.values_list("organization_id", "organization_alias", "max_budget")),
        sorted(OrganizationMembership.objects.values_list("organization_id", "user__username", "user_role")),
        sorted(Budget.objects.values_list("budget_id", "max_budget")),
        sorted(EndUser.objects.values_list("user_id", "alias", "blocked")),
        sorted(Deployment.objects.values_list("model_name", "config_id", "rpm", "enabled")),
    )
