"""The actors and world of the role x endpoint matrix: the cast plus a proxy admin, a viewer, eve (a plain member of
team B), olga (org_admin of team A's organization), keys that must not work (blocked, expired, a key's hash sent as the key), and one of each object the
management API manages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from django.db import models

from apps.agents.models import Agent
from apps.routing.models import Deployment, RouterSettings
from apps.teams import end_users, services
from apps.teams.models import (Budget, DeprecatedKey, EndUser, LogCallback, Organization, OrganizationMembership,
                               ProxyBudget, Team, TeamMembership, User, VirtualKey)
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
    eve: Actor  # a plain member of team B (mallory runs it)
    olga: Actor  # org_admin of acme, the organization of team A; in no team herself
    blocked: str  # secrets (or a hash) that must authenticate as nobody
    expired: str
    hashed: str
    empty_org: Organization

    def secret(self, name: str) -> str:
        if name in ("blocked", "expired", "hashed"):
            return str(getattr(self, name))
        return (getattr(self, name) if name in ("admin", "viewer", "eve", "olga") else self.cast.actor(name)).secret


def roles_for(cast: Cast) -> Roles:
    """Add the matrix's actors and objects to `cast` (all committed, for the gateway process to see)."""
    actors = {}
    for name, role in (("ada", User.Role.PROXY_ADMIN), ("vera", User.Role.PROXY_ADMIN_VIEWER)):
        user = make_user(name, user_role=role)
        key, secret = make_key(user, None, key_alias=f"{name}-key")
        actors[name] = Actor(name, secret, key, user)
    eve = make_user("eve")
    services.team_member_add(team=cast.team_b, user=eve, role="user")
    eve_key, eve_secret = make_key(eve, cast.team_b, key_alias="eve-key")
    olga = make_user("olga")
    services.organization_member_add(organization=cast.org, user=olga, role="org_admin")
    olga_key, olga_secret = make_key(olga, None, key_alias="olga-key")
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
    return Roles(cast=cast, admin=actors["ada"], viewer=actors["vera"], eve=Actor("eve", eve_secret, eve_key, eve),
                 olga=Actor("olga", olga_secret, olga_key, olga),
                 blocked=blocked, expired=expired,
                 hashed=hashed, empty_org=empty_org)


# Every table the management API (and /v1/agents) writes, compared whole: a refused call that changed any column
# of any row shows up, including columns no case sets today.
WRITTEN: tuple[type[models.Model], ...] = (
    VirtualKey, DeprecatedKey, Team, TeamMembership, User, Organization, OrganizationMembership, Budget, EndUser,
    ProxyBudget, LogCallback, Deployment, RouterSettings, Agent)


def world_state() -> tuple[Any, ...]:
    """Every row the management API can change, as plain values: equal before and after a refused call."""
    return tuple(sorted(repr(sorted(row.items())) for row in model._default_manager.values()) for model in WRITTEN)
