"""/team/*: new, update, delete, info, list, block, members and models (LiteLLM's bodies and answers)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.errors import InvalidRequest, PermissionDenied
from apps.teams import selectors, services
from apps.teams.models import Team, TeamMembership, User
from apps.teams.representations import key_json, member_json, team_json
from apps.teams.selectors import Caller
from apps.teams.serializers import columns
from apps.teams.use_cases.common import member_user, references

MEMBER_LIMITS = {"max_budget_in_team": "max_budget", "rpm_limit": "rpm_limit", "tpm_limit": "tpm_limit"}


def team_members_given(caller: Caller, body: Mapping[str, Any]) -> list[tuple[User, str]]:
    """`members_with_roles`, plus LiteLLM's older `admins` / `members` lists of user ids."""
    entries = list(body.get("members_with_roles") or [])
    entries += [{"user_id": ref, "role": "admin"} for ref in body.get("admins") or ()]
    entries += [{"user_id": ref, "role": "user"} for ref in body.get("members") or ()
                if ref not in (body.get("admins") or ())]
    return [(member_user(caller, entry), entry["role"]) for entry in entries]


def team_answer(caller: Caller, team: Team) -> dict[str, Any]:
    members = list(selectors.team_members(team)) if caller.manages_team(team.team_id) or caller.reads_all else []
    return team_json(team, members)


def in_own_organization(caller: Caller, body: Mapping[str, Any]) -> None:
    """An org admin makes teams only in an organization it runs (any other answers as one that does not exist)."""
    org_id = body.get("organization_id")
    if not org_id:
        raise PermissionDenied("An org admin creates teams in its organization: give organization_id.",
                               param="organization_id")
    if org_id not in caller.org_admin_ids:
        raise InvalidRequest(f"Organization '{org_id}' does not exist.", param="organization_id")
    if body.get("budget_id"):
        raise PermissionDenied("Only a proxy admin can set budget_id.", param="budget_id")


def team_new(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /team/new: `team_id` chosen by the client or a UUID."""
    if not caller.is_admin:
        in_own_organization(caller, body)
    team_id = body.get("team_id")
    if team_id and Team.objects.filter(team_id=team_id).exists():
        raise InvalidRequest(f"Team id '{team_id}' already exists.", param="team_id")
    members = team_members_given(caller, body)
    team = services.team_new(fields={**columns(body), **references(body)}, members=members, team_id=team_id)
    return team_json(team, list(selectors.team_members(team)))


def team_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /team/update."""
    team = selectors.team_get(caller, body["team_id"], manage=True)
    fields = {**columns(body), **references(body)}
    if "spend" in body:
        fields["spend"] = body["spend"]
    return team_json(services.team_update(team=team, fields=fields))


def team_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /team/delete."""
    teams = [selectors.team_get(caller, ref, manage=True) for ref in body["team_ids"]]
    return {"deleted_teams": services.team_delete(teams=teams)}


def team_info(*, caller: Caller, team_id: str) -> dict[str, Any]:
    """GET /team/info: LiteLLM's {team_id, team_info, keys, team_memberships}."""
    team = selectors.team_get(caller, team_id)
    manages = caller.manages_team(team.team_id)
    keys = selectors.key_list(caller).filter(team=team)
    members = list(selectors.team_members(team)) if manages or caller.reads_all else []
    return {"team_id": team.team_id, "team_info": team_json(team, members),
            "keys": [key_json(k) for k in keys], "team_memberships": [member_json(m) for m in members]}


def team_list(*, caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GET /team/list: teams with their keys and memberships, by alias (LiteLLM's order)."""
    teams = selectors.team_list(caller).order_by("team_alias", "id")
    if query.get("user_id"):
        teams = teams.filter(memberships__user_id=query["user_id"])
        if not caller.reads_all and query["user_id"] != caller.user_id:
            # Only the teams where the caller may see the members: else the filter tells a plain member who its
            # teammates are (which /team/info hides), and a teammate would answer apart from a made-up user.
            teams = teams.filter(team_id__in=caller.admin_team_ids)
    if query.get("organization_id") == "default_organization":
        teams = teams.filter(organization__isnull=True)
    elif query.get("organization_id"):
        teams = teams.filter(organization_id=query["organization_id"])
    answer = []
    for team in teams:
        members = list(selectors.team_members(team)) if caller.manages_team(team.team_id) or caller.reads_all else []
        answer.append({**team_json(team, members), "keys": [key_json(k) for k in
                                                            selectors.key_list(caller).filter(team=team)],
                       "team_memberships": [member_json(m) for m in members]})
    return answer


def team_block(*, caller: Caller, body: Mapping[str, Any], blocked: bool) -> dict[str, Any]:
    """POST /team/block and /team/unblock."""
    team = selectors.team_get(caller, body["team_id"], manage=True)
    return team_json(services.team_update(team=team, fields={"blocked": blocked}))


def team_model_change(*, caller: Caller, body: Mapping[str, Any], add: bool) -> dict[str, Any]:
    """POST /team/model/add and /team/model/delete."""
    team = selectors.team_get(caller, body["team_id"], manage=True)
    models = body["models"]
    changed = services.team_models_change(team=team, add=models if add else (), remove=() if add else models)
    return team_json(changed)


def team_member_add(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /team/member_add: one member or a list; `max_budget_in_team` gives each their own budget."""
    team = selectors.team_get(caller, body["team_id"], manage=True)
    for entry in body["member"]:
        member = services.team_member_add(team=team, user=member_user(caller, entry), role=entry["role"])
        if body.get("max_budget_in_team") is not None:
            services.team_member_update(member=member, limits={"max_budget": body["max_budget_in_team"]})
    members = list(selectors.team_members(team))
    return {**team_json(team, members), "updated_team_memberships": [member_json(m) for m in members]}


def membership(team: Team, body: Mapping[str, Any]) -> TeamMembership:
    user = selectors.user_find(body.get("user_id"), email=body.get("user_email"))
    member = TeamMembership.objects.filter(team=team, user=user).select_related("user").first() if user else None
    if member is None:
        raise InvalidRequest("That user is not a member of this team.", param="user_id")
    return member


def team_member_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /team/member_update: role and the member's own budget and limits."""
    team = selectors.team_get(caller, body["team_id"], manage=True)
    limits = {column: body[name] for name, column in MEMBER_LIMITS.items() if name in body}
    member = services.team_member_update(member=membership(team, body), role=body.get("role"), limits=limits)
    budget = member.budget
    return {"team_id": team.team_id, "user_id": member.user_id, "user_email": member.user.email or None,
            "max_budget_in_team": float(budget.max_budget) if budget and budget.max_budget is not None else None,
            "tpm_limit": budget.tpm_limit if budget else None, "rpm_limit": budget.rpm_limit if budget else None}


def team_member_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /team/member_delete."""
    team = selectors.team_get(caller, body["team_id"], manage=True)
    services.team_member_delete(team=team, user=membership(team, body).user)
    return team_json(team, list(selectors.team_members(team)))
