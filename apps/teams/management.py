"""The management API's use cases: scope and role checks, then one service or selector, then the JSON answer.

Views parse bodies into validated dicts and call exactly one function here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from apps.core.errors import InvalidRequest, PermissionDenied
from apps.teams import selectors, services
from apps.teams.access import model_allowed
from apps.teams.models import Organization, Team, TeamMembership, User
from apps.teams.representations import key_json, member_json, organization_json, team_json, user_json
from apps.teams.selectors import Caller
from apps.teams.serializers import columns

LIMIT_FIELDS = ("max_budget", "rpm_limit", "tpm_limit", "max_parallel_requests")
PAGE_SIZE_MAX = 100


def existing_user(user_id: str | None, param: str = "user_id") -> User | None:
    if not user_id:
        return None
    user = selectors.user_find(user_id)
    if user is None:
        raise InvalidRequest(f"{param}: user '{user_id}' does not exist; create it with /user/new first.",
                             param=param)
    return user


def within_team_limits(team: Team, data: Mapping[str, Any]) -> None:
    """A member's own keys may not go past their team's limits or models."""
    for name in LIMIT_FIELDS:
        cap, asked = getattr(team, name), data.get(name)
        if cap is not None and asked is not None and asked > cap:
            raise PermissionDenied(f"{name} {asked} is above the team's {name} of {cap}.", param=name)
    for model in data.get("models") or ():
        if not model_allowed(model, team.allowed_models or (), {}):
            raise PermissionDenied(f"The team may not use model={model}.", param="models")


def key_owner(caller: Caller, data: Mapping[str, Any]) -> tuple[User | None, Team | None]:
    """Who a new key belongs to, once the caller may create it there."""
    user = existing_user(data.get("user_id"))
    team_ref = data.get("team_id") or (None if caller.is_admin else caller.team_id)
    team = selectors.team_get(caller, team_ref) if team_ref else None
    if caller.is_admin:
        return user, team
    if team is not None and caller.manages_team(team.team_id):
        if user is not None and not TeamMembership.objects.filter(team=team, user=user).exists():
            raise InvalidRequest(f"User '{user.username}' is not a member of this team.", param="user_id")
        return user, team
    if user is not None and user.username != caller.user_id:
        raise PermissionDenied("A member's key can only create keys for itself.", param="user_id")
    if team is not None:
        within_team_limits(team, data)
    owner = User.objects.filter(username=caller.user_id).first() if caller.user_id is not None else None
    return owner, team


def key_generate(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    user, team = key_owner(caller, data)
    issued = services.key_generate(fields={**columns(data), "user": user, "team": team},
                                   duration=data.get("duration"), secret=data.get("key"))
    return key_json(issued.key, secret=issued.secret)


def moves(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    """New owner fields for a key (only a proxy admin moves keys between users and teams)."""
    if "user_id" not in data and "team_id" not in data:
        return {}
    if not caller.is_admin:
        raise PermissionDenied("Only a proxy admin can move a key to another user or team.",
                               param="user_id" if "user_id" in data else "team_id")
    fields: dict[str, Any] = {}
    if "user_id" in data:
        fields["user"] = existing_user(data["user_id"])
    if "team_id" in data:
        fields["team"] = selectors.team_get(caller, data["team_id"]) if data["team_id"] else None
    return fields


def key_update(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    key = selectors.key_get(caller, data["key"], manage=True)
    if "spend" in data and not caller.is_admin:
        raise PermissionDenied("Only a proxy admin can set spend.", param="spend")
    fields = {**columns(data), **moves(caller, data)}
    if "spend" in data:
        fields["spend"] = data["spend"]
    return key_json(services.key_update(key=key, fields=fields, duration=data.get("duration")))


def key_regenerate(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    key = selectors.key_get(caller, data["key"])
    fields = {**columns(data), **moves(caller, data)}
    if fields and not caller.manages_team(key.team_id):
        raise PermissionDenied("Only a proxy admin or team admin can change a key's settings.", param="key")
    issued = services.key_regenerate(key=key, fields=fields, secret=data.get("new_key"))
    return key_json(issued.key, secret=issued.secret)


def key_block(caller: Caller, ref: str, *, blocked: bool) -> dict[str, Any]:
    return key_json(services.key_block(key=selectors.key_get(caller, ref, manage=True), blocked=blocked))


def key_delete(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    keys = [selectors.key_get(caller, ref) for ref in data.get("keys") or ()]
    keys += [selectors.key_get_by_alias(caller, alias) for alias in data.get("key_aliases") or ()]
    return {"deleted_keys": services.key_delete(keys=keys)}


def key_info(caller: Caller, ref: str) -> dict[str, Any]:
    key = selectors.key_get(caller, ref)
    return {"key": key.token_hash, "info": key_json(key)}


def key_list(caller: Caller, params: Mapping[str, str]) -> dict[str, Any]:
    keys = selectors.key_list(caller)
    if params.get("user_id"):
        keys = keys.filter(user_id=params["user_id"])
    if params.get("team_id"):
        keys = keys.filter(team_id=params["team_id"])
    if params.get("key_alias"):
        keys = keys.filter(key_alias=params["key_alias"])
    page, size = page_args(params)
    total = keys.count()
    rows = keys[(page - 1) * size: page * size]
    full = params.get("return_full_object", "").lower() == "true"
    return {"keys": [key_json(k) if full else k.token_hash for k in rows], "total_count": total,
            "current_page": page, "total_pages": max(1, -(-total // size))}


def page_args(params: Mapping[str, str]) -> tuple[int, int]:
    try:
        page, size = int(params.get("page", 1)), int(params.get("size", 10))
    except ValueError:
        raise InvalidRequest("page and size must be integers.", param="page") from None
    if page < 1 or not 1 <= size <= PAGE_SIZE_MAX:
        raise InvalidRequest(f"page must be >= 1 and size between 1 and {PAGE_SIZE_MAX}.", param="size")
    return page, size


def members_of(entries: list[Mapping[str, Any]]) -> list[tuple[User, str]]:
    """Users for member entries, created when only an email is known (LiteLLM does the same)."""
    members = []
    for entry in entries:
        user = selectors.user_find(entry.get("user_id"), email=entry.get("user_email"))
        if user is None:
            if entry.get("user_id"):
                raise InvalidRequest(f"User '{entry['user_id']}' does not exist.", param="member.user_id")
            user, _ = services.user_new(user_id=entry["user_email"], fields={"email": entry["user_email"]})
        members.append((user, entry["role"]))
    return members


def organization_for(data: Mapping[str, Any]) -> dict[str, Any]:
    if "organization_id" not in data:
        return {}
    ref = data["organization_id"]
    org = Organization.objects.filter(organization_id=ref).first() if ref else None
    if ref and org is None:
        raise InvalidRequest(f"Organization '{ref}' does not exist.", param="organization_id")
    return {"organization": org}


def team_new(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    members = members_of(data.get("members_with_roles") or [])
    team = services.team_new(fields={**columns(data), **organization_for(data)}, members=members)
    return team_json(team, list(selectors.team_members(team)))


def team_update(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    team = selectors.team_get(caller, data["team_id"], manage=True)
    fields = {**columns(data), **organization_for(data)}
    if "spend" in data:
        fields["spend"] = data["spend"]
    return team_json(services.team_update(team=team, fields=fields))


def team_delete(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    teams = [selectors.team_get(caller, ref, manage=True) for ref in data["team_ids"]]
    return {"deleted_teams": services.team_delete(teams=teams)}


def team_info(caller: Caller, team_id: str) -> dict[str, Any]:
    team = selectors.team_get(caller, team_id)
    manages = caller.manages_team(team.team_id)
    keys = selectors.key_list(caller).filter(team=team)
    members = list(selectors.team_members(team)) if manages or caller.reads_all else []
    return {"team_id": team.team_id, "team_info": team_json(team, members),
            "keys": [key_json(k) for k in keys], "team_memberships": [member_json(m) for m in members]}


def team_list(caller: Caller) -> list[dict[str, Any]]:
    return [team_json(team) for team in selectors.team_list(caller)]


def member_add(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    team = selectors.team_get(caller, data["team_id"], manage=True)
    for user, role in members_of(data["member"]):
        services.team_member_add(team=team, user=user, role=role)
    return team_json(team, list(selectors.team_members(team)))


def member_delete(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    team = selectors.team_get(caller, data["team_id"], manage=True)
    user = selectors.user_find(data.get("user_id"), email=data.get("user_email"))
    if user is None or not TeamMembership.objects.filter(team=team, user=user).exists():
        raise InvalidRequest("That user is not a member of this team.", param="user_id")
    services.team_member_delete(team=team, user=user)
    return team_json(team, list(selectors.team_members(team)))


def user_new(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    user_id = data.get("user_id") or data.get("user_email")
    if not user_id:
        raise InvalidRequest("Give `user_id` or `user_email`.", param="user_id")
    if User.objects.filter(Q(username=user_id)).exists():
        raise InvalidRequest(f"User '{user_id}' already exists.", param="user_id")
    teams = [selectors.team_get(caller, ref) for ref in data.get("teams") or ()]
    key_fields = {"allowed_models": columns(data).get("allowed_models", [])} if data["auto_create_key"] else None
    user, issued = services.user_new(user_id=user_id, fields=columns(data), teams=teams, key_fields=key_fields)
    body = user_json(user)
    if issued is not None:
        body.update(key=issued.secret, token=issued.key.token_hash)
    return body


def user_info(caller: Caller, user_id: str) -> dict[str, Any]:
    user = selectors.user_get(caller, user_id)
    keys = selectors.key_list(caller).filter(user=user)
    teams = selectors.team_list(caller).filter(memberships__user=user)
    return {"user_id": user.username, "user_info": user_json(user), "keys": [key_json(k) for k in keys],
            "teams": [team_json(t) for t in teams]}


def user_update(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    user = selectors.user_get(caller, data.get("user_id"), email=data.get("user_email"))
    fields = columns(data)
    if "spend" in data:
        fields["spend"] = data["spend"]
    return user_json(services.user_update(user=user, fields=fields))


def user_delete(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    users = [selectors.user_get(caller, ref) for ref in data["user_ids"]]
    return {"deleted_users": services.user_delete(users=users)}


def organization_new(caller: Caller, data: Mapping[str, Any]) -> dict[str, Any]:
    return organization_json(services.organization_new(fields=columns(data)))


def organization_info(caller: Caller, organization_id: str) -> dict[str, Any]:
    org = selectors.organization_get(caller, organization_id)
    teams = Team.objects.filter(organization=org).order_by("id")
    return {**organization_json(org), "teams": [team_json(t) for t in teams]}
