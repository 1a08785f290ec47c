"""/user/*: new, info, update, delete, list (LiteLLM's bodies and answers)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from apps.core.errors import InvalidRequest
from apps.teams import selectors, services
from apps.teams.models import Team, TeamMembership, User
from apps.teams.representations import key_json, team_json, user_json
from apps.teams.selectors import Caller
from apps.teams.serializers import columns
from apps.teams.services import USER_FIELDS
from apps.teams.use_cases.common import existing_organization, page_of, references
from apps.teams.use_cases.keys import sorted_by


def user_fields(body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user body split into the user's columns and the rest, which LiteLLM gives the user's first key."""
    values = {**columns(body), **references(body)}
    mine = {k: v for k, v in values.items() if k in USER_FIELDS and k != "budget"}
    return mine, {k: v for k, v in values.items() if k not in mine}


def user_teams(caller: Caller, body: Mapping[str, Any]) -> list[tuple[Team, str]]:
    return [(selectors.team_get(caller, entry["team_id"]), entry["user_role"]) for entry in body.get("teams") or ()]


def user_new(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /user/new: the user, their teams and organizations, and (by default) a first key."""
    user_id = body.get("user_id") or services.new_user_id()  # a UUID even with user_email, as LiteLLM gives
    if User.objects.filter(Q(username=user_id)).exists():
        raise InvalidRequest(f"User '{user_id}' already exists.", param="user_id")
    mine, for_key = user_fields(body)
    if "model_max_budget" in mine:  # LiteLLM's /user/new writes it on the first key (where it is enforced), not the user
        for_key["model_max_budget"] = mine.pop("model_max_budget")
    orgs = [existing_organization(ref, "organizations") for ref in body.get("organizations") or ()]
    key_fields = None
    if body["auto_create_key"]:
        key_fields = {**for_key, "allowed_models": mine.get("allowed_models", [])}
        if body.get("team_id"):
            key_fields["team"] = selectors.team_get(caller, body["team_id"])
    teams = user_teams(caller, body)
    user, issued = services.user_new(user_id=user_id, fields=mine, teams=teams,
                                     organizations=[o for o in orgs if o is not None], key_fields=key_fields,
                                     key_duration=body.get("duration"), password=body.get("password"))
    for entry in body.get("teams") or ():
        if entry.get("max_budget_in_team") is not None:
            member = TeamMembership.objects.get(team__team_id=entry["team_id"], user=user)
            services.team_member_update(member=member, limits={"max_budget": entry["max_budget_in_team"]})
    answer = user_json(user)
    answer["teams"] = [team.team_id for team, _ in teams]
    if issued is not None:
        answer.update(key=issued.secret, token=issued.key.token_hash, key_alias=issued.key.key_alias or None,
                      expires=issued.key.expires.isoformat() if issued.key.expires else None)
    return answer


def user_info(*, caller: Caller, user_id: str | None) -> dict[str, Any]:
    """GET /user/info: LiteLLM's {user_id, user_info, keys, teams} (without user_id: the caller)."""
    user = selectors.user_get(caller, user_id or caller.user_id)
    keys = selectors.key_list(caller).filter(user=user)
    teams = selectors.team_list(caller).filter(memberships__user=user)
    return {"user_id": user.username, "user_info": user_json(user), "keys": [key_json(k) for k in keys],
            "teams": [team_json(t) for t in teams]}


def user_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /user/update."""
    user = selectors.user_get(caller, body.get("user_id"), email=body.get("user_email"))
    fields, _ = user_fields(body)
    if "spend" in body:
        fields["spend"] = body["spend"]
    return user_json(services.user_update(user=user, fields=fields, password=body.get("password")))


def user_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /user/delete."""
    users = [selectors.user_get(caller, ref) for ref in body["user_ids"]]
    return {"deleted_users": services.user_delete(users=users)}


SORT_COLUMNS = {"user_id": "username", "user_email": "email", "created_at": "date_joined", "spend": "spend",
                "user_alias": "user_alias", "user_role": "user_role"}


def user_list(*, caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """GET /user/list: LiteLLM's {users, total, page, page_size, total_pages}."""
    users = selectors.user_list(caller)
    if query.get("role"):
        users = users.filter(user_role=query["role"])
    if query.get("user_ids"):
        users = users.filter(username__in=query["user_ids"].split(","))
    if query.get("sso_user_ids"):
        users = users.filter(sso_user_id__in=query["sso_user_ids"].split(","))
    if query.get("user_email"):
        users = users.filter(email__icontains=query["user_email"])
    if query.get("team"):
        users = users.filter(memberships__team_id=query["team"])
    if query.get("sort_by"):
        users = users.order_by(sorted_by(SORT_COLUMNS[query["sort_by"]], query["sort_order"]), "id")
    total = users.count()
    window, pages = page_of(total, query["page"], query["page_size"])
    listed = []
    for user in users[window]:
        entry = user_json(user)
        entry["teams"] = list(user.memberships.values_list("team_id", flat=True))
        entry["key_count"] = user.keys.count()
        listed.append(entry)
    return {"users": listed, "total": total, "page": query["page"], "page_size": query["page_size"],
            "total_pages": pages}
