"""LiteLLM's typed rows written into Tollgate's models: budgets, organizations, users, teams, members and end users.

Ids are LiteLLM's own strings (`team_id` "engineering" stays "engineering"), so a second run finds every row
again. Limits are what LiteLLM enforces: an organization's come from its budget, a key's budget overrides
the key's own columns where the budget sets them, a team's member budget is `metadata.team_member_budget_id`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.teams.litellm_import.records import (
    LiteLLMBudget, LiteLLMEndUser, LiteLLMOrganization, LiteLLMOrganizationMembership, LiteLLMTeam,
    LiteLLMTeamMembership, LiteLLMUser, Limits)
from apps.teams.litellm_import.report import TableReport
from apps.teams.litellm_import.upsert import upsert
from apps.teams.models import Budget, EndUser, Organization, OrganizationMembership, Team, TeamMembership, User
from apps.teams.snapshot import member_ledger, organization_ledger, team_ledger, user_ledger

USER_ROLES = {choice.value for choice in User.Role}
ORG_ROLES = {choice.value for choice in OrganizationMembership.Role}
REGIONS = {choice.value for choice in EndUser.Region}


class Skip(Exception):
    """The row refers to something the import does not have; the message says what."""


@dataclass(slots=True)
class Imported:
    """What the import has brought over so far, for the rows that refer to it."""

    model_aliases: dict[int, dict[str, Any]] = field(default_factory=dict)  # LiteLLM_ModelTable id -> aliases
    permissions: dict[str, dict[str, Any]] = field(default_factory=dict)  # object_permission_id -> permission
    budgets: dict[str, LiteLLMBudget] = field(default_factory=dict)
    organizations: set[str] = field(default_factory=set)
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user_id -> the user's `teams`
    teams: dict[str, LiteLLMTeam] = field(default_factory=dict)

    def budget(self, budget_id: str | None, *, owner: str) -> str | None:
        """`budget_id` if it was imported (None for no budget); Skip when it names one that is not there."""
        if not budget_id:
            return None
        if budget_id not in self.budgets:
            raise Skip(f"budget_id {budget_id!r} of {owner} is not in LiteLLM_BudgetTable")
        return budget_id

    def permission(self, object_permission_id: str | None, *, row_id: str, report: TableReport) -> dict[str, Any]:
        """The owner's object permission (empty for none); one that is not there is noted and left empty."""
        if not object_permission_id:
            return {}
        if object_permission_id not in self.permissions:
            report.note(row_id, f"object_permission_id {object_permission_id!r} is not in LiteLLM_ObjectPermissionTable")
        return self.permissions.get(object_permission_id, {})

    def limits_of(self, budget_id: str | None) -> Limits:
        budget = self.budgets.get(budget_id or "")
        return budget.limits if budget else Limits()


def limit_fields(limits: Limits) -> dict[str, Any]:
    return {"max_budget": limits.max_budget, "soft_budget": limits.soft_budget,
            "budget_duration": limits.budget_duration, "budget_reset_at": limits.budget_reset_at,
            "rpm_limit": limits.rpm_limit, "tpm_limit": limits.tpm_limit,
            "max_parallel_requests": limits.max_parallel_requests}


def write_budget(budget: LiteLLMBudget, done: Imported, report: TableReport) -> None:
    fields = {**limit_fields(budget.limits), "model_max_budget": budget.model_max_budget,
              "created_by": budget.audit.created_by, "updated_by": budget.audit.updated_by}
    written = upsert(Budget, lookup={"budget_id": budget.budget_id}, fields=fields,
                     stamps={"created_at": budget.audit.created_at})
    done.budgets[budget.budget_id] = budget
    report.count(written.outcome)


def _free_alias(org: LiteLLMOrganization, report: TableReport) -> str:
    """LiteLLM lets two organizations share an alias; Tollgate's are unique, so a second one is told apart."""
    if not Organization.objects.filter(organization_alias=org.alias).exclude(organization_id=org.organization_id).exists():
        return org.alias
    alias = f"{org.alias} ({org.organization_id})"
    report.note(org.organization_id, f"organization_alias {org.alias!r} is taken: imported as {alias!r}")
    return alias


def write_organization(org: LiteLLMOrganization, done: Imported, report: TableReport) -> None:
    budget_id = done.budget(org.budget_id, owner=f"organization {org.organization_id}")
    fields = {**limit_fields(done.limits_of(budget_id)), "organization_alias": _free_alias(org, report),
              "budget_id": budget_id, "allowed_models": list(org.models), "metadata": org.metadata,
              "model_spend": org.model_spend, "spend": org.spend, "created_by": org.audit.created_by,
              "object_permission": done.permission(org.object_permission_id, row_id=org.organization_id, report=report),
              "updated_by": org.audit.updated_by}
    written = upsert(Organization, lookup={"organization_id": org.organization_id}, fields=fields,
                     stamps={"created_at": org.audit.created_at}, ledger=organization_ledger)
    done.organizations.add(org.organization_id)
    report.count(written.outcome)


def _role(user: LiteLLMUser, report: TableReport) -> str:
    if user.role in USER_ROLES:
        return user.role
    report.note(user.user_id, f"user_role {user.role!r} has no Tollgate equivalent: imported as internal_user")
    return User.Role.INTERNAL_USER


def write_user(user: LiteLLMUser, done: Imported, report: TableReport) -> None:
    org_id = user.organization_id if user.organization_id in done.organizations else None
    if user.organization_id and org_id is None:
        report.note(user.user_id, f"organization_id {user.organization_id!r} is not in LiteLLM_OrganizationTable")
    fields = {**limit_fields(user.limits), "email": user.email, "user_alias": user.alias,
              "user_role": _role(user, report), "organization_id": org_id, "allowed_models": list(user.models),
              "metadata": user.metadata, "spend": user.spend, "model_max_budget": user.model_max_budget,
              "model_spend": user.model_spend, "allowed_cache_controls": list(user.allowed_cache_controls),
              "policies": list(user.policies), "sso_user_id": user.sso_user_id,
              "object_permission": done.permission(user.object_permission_id, row_id=user.user_id, report=report)}
    written = upsert(User, lookup={"username": user.user_id}, fields=fields,
                     stamps={"date_joined": user.created_at}, ledger=user_ledger)
    if written.outcome == "created":
        # LiteLLM's UI passwords are its own hashes; people sign in to Tollgate's admin with a password set here.
        written.row.set_unusable_password()  # type: ignore[attr-defined]
        written.row.save(update_fields=["password"])
    done.users[user.user_id] = user.teams
    report.count(written.outcome)


def _member_budget_fields(team: LiteLLMTeam, done: Imported) -> dict[str, Any]:
    budget = done.budgets.get(team.member_budget_id or "")
    limits = budget.limits if budget else Limits()
    return {"team_member_budget": limits.max_budget, "team_member_budget_duration": limits.budget_duration,
            "team_member_rpm_limit": limits.rpm_limit, "team_member_tpm_limit": limits.tpm_limit}


def write_team(team: LiteLLMTeam, done: Imported, report: TableReport) -> None:
    org_id = team.organization_id or None
    if org_id is not None and org_id not in done.organizations:
        raise Skip(f"organization_id {org_id!r} is not in LiteLLM_OrganizationTable")
    fields = {**limit_fields(team.limits), **_member_budget_fields(team, done), "team_alias": team.alias,
              "organization_id": org_id, "allowed_models": list(team.models), "metadata": team.metadata,
              "blocked": team.blocked, "spend": team.spend, "model_max_budget": team.model_max_budget,
              "model_spend": team.model_spend, "router_settings": team.router_settings,
              "team_member_permissions": list(team.team_member_permissions), "policies": list(team.policies),
              "allow_team_guardrail_config": team.allow_team_guardrail_config,
              "model_aliases": done.model_aliases.get(team.model_table_id, {}) if team.model_table_id is not None else {},
              "object_permission": done.permission(team.object_permission_id, row_id=team.team_id, report=report)}
    written = upsert(Team, lookup={"team_id": team.team_id}, fields=fields, stamps={"created_at": team.created_at},
                     ledger=team_ledger)
    done.teams[team.team_id] = team
    report.count(written.outcome)


def write_team_membership(member: LiteLLMTeamMembership, done: Imported, report: TableReport) -> None:
    team = done.teams.get(member.team_id)
    if team is None:
        raise Skip(f"team_id {member.team_id!r} is not in LiteLLM_TeamTable")
    if member.user_id not in done.users:
        raise Skip(f"user_id {member.user_id!r} is not in LiteLLM_UserTable")
    role = next((m.role for m in team.members if m.user_id == member.user_id), TeamMembership.Role.MEMBER)
    budget_id = done.budget(member.budget_id, owner=f"member {member.user_id} of {member.team_id}")
    written = upsert(TeamMembership, lookup={"team_id": member.team_id, "user_id": member.user_id},
                     fields={"role": role, "spend": member.spend, "budget_id": budget_id,
                             "budget_reset_at": done.limits_of(team.member_budget_id).budget_reset_at},
                     ledger=lambda row: member_ledger(row, row.team))
    report.count(written.outcome)


def listed_members(done: Imported) -> dict[tuple[str, str], str]:
    """(team_id, user_id) -> role of everyone a team's `members_with_roles` or a user's `teams` names."""
    pairs = {(team_id, user_id): TeamMembership.Role.MEMBER.value
             for user_id, teams in done.users.items() for team_id in teams}
    pairs.update({(team.team_id, member.user_id): member.role for team in done.teams.values() for member in team.members})
    return pairs


def write_listed_members(in_table: set[tuple[str, str]], done: Imported, report: TableReport) -> None:
    """Members LiteLLM names in `members_with_roles` or `teams` but wrote no LiteLLM_TeamMembership row for."""
    for (team_id, user_id), role in listed_members(done).items():
        if (team_id, user_id) in in_table:
            continue
        if team_id not in done.teams:
            report.skip(f"{team_id}/{user_id}", f"user {user_id!r} lists team_id {team_id!r}, not in LiteLLM_TeamTable")
        elif user_id not in done.users:
            report.skip(f"{team_id}/{user_id}", f"members_with_roles names user_id {user_id!r}, not in LiteLLM_UserTable")
        else:
            written = upsert(TeamMembership, lookup={"team_id": team_id, "user_id": user_id}, fields={"role": role})
            report.count(written.outcome)


def write_organization_membership(member: LiteLLMOrganizationMembership, done: Imported, report: TableReport) -> None:
    if member.organization_id not in done.organizations:
        raise Skip(f"organization_id {member.organization_id!r} is not in LiteLLM_OrganizationTable")
    if member.user_id not in done.users:
        raise Skip(f"user_id {member.user_id!r} is not in LiteLLM_UserTable")
    role = member.role if member.role in ORG_ROLES else OrganizationMembership.Role.INTERNAL_USER
    if role != member.role:
        report.note(f"{member.organization_id}/{member.user_id}", f"user_role {member.role!r} imported as {role}")
    budget_id = done.budget(member.budget_id, owner=f"member {member.user_id} of {member.organization_id}")
    written = upsert(OrganizationMembership, lookup={"organization_id": member.organization_id,
                                                     "user_id": member.user_id},
                     fields={"user_role": role, "spend": member.spend, "budget_id": budget_id})
    report.count(written.outcome)


def write_end_user(end_user: LiteLLMEndUser, done: Imported, report: TableReport) -> None:
    region = end_user.allowed_model_region if end_user.allowed_model_region in REGIONS else ""
    if region != end_user.allowed_model_region:
        report.note(end_user.user_id, f"allowed_model_region {end_user.allowed_model_region!r} is not eu or us: dropped")
    fields = {"alias": end_user.alias, "spend": end_user.spend, "allowed_model_region": region,
              "default_model": end_user.default_model, "blocked": end_user.blocked,
              "budget_id": done.budget(end_user.budget_id, owner=f"end user {end_user.user_id}")}
    report.count(upsert(EndUser, lookup={"user_id": end_user.user_id}, fields=fields).outcome)
