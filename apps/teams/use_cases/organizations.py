"""/organization/*: new, info, update, delete, list and members (LiteLLM's bodies and answers). Proxy admins
manage every organization; an org admin reads its own and manages its members."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.errors import InvalidRequest
from apps.teams import selectors, services
from apps.teams.models import Organization, OrganizationMembership, Team
from apps.teams.representations import organization_json, organization_member_json, team_json
from apps.teams.selectors import Caller
from apps.teams.serializers import columns
from apps.teams.use_cases.common import member_user, references


def organization_answer(org: Organization) -> dict[str, Any]:
    teams = Team.objects.filter(organization=org).order_by("id")
    members = OrganizationMembership.objects.filter(organization=org).select_related("user", "budget").order_by("id")
    return {**organization_json(org), "teams": [team_json(t) for t in teams],
            "members": [organization_member_json(m) for m in members]}


def organization_new(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /organization/new: `organization_id` chosen by the client or a UUID."""
    org_id = body.get("organization_id")
    if org_id and Organization.objects.filter(organization_id=org_id).exists():
        raise InvalidRequest(f"Organization id '{org_id}' already exists.", param="organization_id")
    if Organization.objects.filter(organization_alias=body["organization_alias"]).exists():
        raise InvalidRequest(f"Organization alias '{body['organization_alias']}' already exists.",
                             param="organization_alias")
    fields = {**columns(body), **references({k: v for k, v in body.items() if k == "budget_id"})}
    return organization_json(services.organization_new(fields=fields, organization_id=org_id))


def organization_info(*, caller: Caller, organization_id: str) -> dict[str, Any]:
    """GET /organization/info."""
    return organization_answer(selectors.organization_get(caller, organization_id))


def organization_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH /organization/update."""
    org = selectors.organization_get(caller, body["organization_id"])
    fields = {**columns(body), **references({k: v for k, v in body.items() if k == "budget_id"})}
    if "spend" in body:
        fields["spend"] = body["spend"]
    return organization_json(services.organization_update(organization=org, fields=fields))


def organization_delete(*, caller: Caller, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """DELETE /organization/delete: the deleted organizations (LiteLLM refuses while teams remain)."""
    orgs = [selectors.organization_get(caller, ref) for ref in body["organization_ids"]]
    for org in orgs:
        if Team.objects.filter(organization=org).exists():
            raise InvalidRequest(f"Organization '{org.organization_id}' still has teams; move or delete them first.",
                                 param="organization_ids")
    answer = [organization_json(org) for org in orgs]
    services.organization_delete(organizations=orgs)
    return answer


def organization_list(*, caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GET /organization/list."""
    orgs = selectors.organization_list(caller)
    if query.get("org_id"):
        orgs = orgs.filter(organization_id=query["org_id"])
    if query.get("org_alias"):
        orgs = orgs.filter(organization_alias__icontains=query["org_alias"])
    return [organization_answer(org) for org in orgs]


def organization_member_add(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /organization/member_add."""
    org = selectors.organization_get(caller, body["organization_id"], manage=True)
    added = [services.organization_member_add(organization=org, user=member_user(caller, entry), role=entry["role"],
                                              max_budget=body.get("max_budget_in_organization"))
             for entry in body["member"]]
    return {"organization_id": org.organization_id,
            "updated_organization_memberships": [organization_member_json(m) for m in added]}


def organization_membership(org: Organization, body: Mapping[str, Any]) -> OrganizationMembership:
    user = selectors.user_find(body.get("user_id"), email=body.get("user_email"))
    member = OrganizationMembership.objects.filter(organization=org, user=user).first() if user else None
    if member is None:
        raise InvalidRequest("That user is not a member of this organization.", param="user_id")
    return member


def organization_member_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH /organization/member_update."""
    org = selectors.organization_get(caller, body["organization_id"], manage=True)
    member = services.organization_member_update(member=organization_membership(org, body), role=body.get("role"),
                                                 max_budget=body.get("max_budget_in_organization"))
    return organization_member_json(member)


def organization_member_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """DELETE /organization/member_delete."""
    org = selectors.organization_get(caller, body["organization_id"], manage=True)
    member = organization_membership(org, body)
    answer = organization_member_json(member)
    services.organization_member_delete(member=member)
    return answer
