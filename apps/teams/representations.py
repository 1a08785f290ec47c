"""Rows as LiteLLM's management API shows them: string ids, float money, ISO times, LiteLLM's field names."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from apps.teams.models import (Budget, EndUser, Organization, OrganizationMembership, SpendLog, Team, TeamMembership,
                               User, VirtualKey)

# Columns shown as they are stored (JSON lists and maps, strings, booleans), per kind of row.
MODEL_LIMITS = ("model_max_budget", "model_spend", "model_rpm_limit", "model_tpm_limit", "object_permission")
KEY_COLUMNS = (*MODEL_LIMITS, "aliases", "config", "permissions", "allowed_cache_controls", "allowed_routes",
               "allowed_passthrough_routes", "allowed_vector_store_indexes", "enforced_params", "guardrails",
               "policies", "prompts", "router_settings", "key_type", "soft_budget_cooldown", "auto_rotate",
               "rotation_count", "created_by", "updated_by")
TEAM_COLUMNS = (*MODEL_LIMITS, "model_aliases", "router_settings", "guardrails", "policies", "prompts",
                "allowed_passthrough_routes", "allowed_vector_store_indexes", "secret_manager_settings",
                "team_member_permissions", "team_member_rpm_limit", "team_member_tpm_limit",
                "allow_team_guardrail_config", "blocked")
USER_COLUMNS = (*MODEL_LIMITS, "allowed_cache_controls", "policies", "sso_user_id")
ORG_COLUMNS = (*MODEL_LIMITS, "created_by", "updated_by")


def money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def moment(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def stored(row: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def limits_json(row: Any) -> dict[str, Any]:
    return {"spend": money(row.spend), "max_budget": money(row.max_budget), "soft_budget": money(row.soft_budget),
            "budget_duration": row.budget_duration or None, "budget_reset_at": moment(row.budget_reset_at),
            "rpm_limit": row.rpm_limit, "tpm_limit": row.tpm_limit,
            "max_parallel_requests": row.max_parallel_requests, "models": list(row.allowed_models or []),
            "metadata": dict(row.metadata or {})}


def budget_json(budget: Budget | None) -> dict[str, Any] | None:
    """A LiteLLM_BudgetTable row."""
    if budget is None:
        return None
    return {"budget_id": budget.budget_id, "max_budget": money(budget.max_budget),
            "soft_budget": money(budget.soft_budget), "max_parallel_requests": budget.max_parallel_requests,
            "tpm_limit": budget.tpm_limit, "rpm_limit": budget.rpm_limit,
            "model_max_budget": dict(budget.model_max_budget or {}), "budget_duration": budget.budget_duration or None,
            "budget_reset_at": moment(budget.budget_reset_at), "created_at": moment(budget.created_at),
            "created_by": budget.created_by, "updated_at": moment(budget.updated_at), "updated_by": budget.updated_by}


def key_json(key: VirtualKey, *, secret: str | None = None) -> dict[str, Any]:
    """A key; `key` holds the secret only in the answer that created it."""
    body = {"token": key.token_hash, "key_name": key.key_name, "key_alias": key.key_alias or None,
            "user_id": key.user_id, "team_id": key.team_id, "organization_id": key.organization_id,
            "budget_id": key.budget_id, "expires": moment(key.expires), "blocked": key.blocked,
            "created_at": moment(key.created_at), "updated_at": moment(key.updated_at),
            "rotation_interval": key.rotation_interval or None, "last_rotation_at": moment(key.last_rotation_at),
            "temp_budget_increase": money(key.temp_budget_increase),
            "temp_budget_expiry": moment(key.temp_budget_expiry), "rpm_limit_type": key.rpm_limit_type or None,
            "tpm_limit_type": key.tpm_limit_type or None, **limits_json(key), **stored(key, KEY_COLUMNS)}
    body["tags"] = list(key.tags or [])
    # LiteLLM keeps these in a key's metadata and scripts read them there.
    extra = {"tags": body["tags"], "model_rpm_limit": key.model_rpm_limit, "model_tpm_limit": key.model_tpm_limit}
    body["metadata"] = {**body["metadata"], **{k: v for k, v in extra.items() if v}}
    if secret is not None:
        body = {"key": secret, "token_id": key.token_hash, **body}
    return body


def member_json(member: TeamMembership) -> dict[str, Any]:
    """A LiteLLM_TeamMembership row (with its budget row)."""
    return {"user_id": member.user_id, "team_id": member.team_id, "user_email": member.user.email or None,
            "role": member.role, "spend": money(member.spend), "budget_reset_at": moment(member.budget_reset_at),
            "budget_id": member.budget_id, "litellm_budget_table": budget_json(member.budget)}


def team_json(team: Team, members: list[TeamMembership] | None = None) -> dict[str, Any]:
    body = {"team_id": team.team_id, "team_alias": team.team_alias or None, "organization_id": team.organization_id,
            "team_member_budget": money(team.team_member_budget),
            "team_member_budget_duration": team.team_member_budget_duration or None,
            "team_member_key_duration": team.team_member_key_duration or None, "tags": list(team.tags or []),
            "rpm_limit_type": team.rpm_limit_type or None, "tpm_limit_type": team.tpm_limit_type or None,
            "created_at": moment(team.created_at), "updated_at": moment(team.updated_at), **limits_json(team),
            **stored(team, TEAM_COLUMNS)}
    if members is not None:
        body["members_with_roles"] = [{"user_id": m.user_id, "user_email": m.user.email or None, "role": m.role}
                                      for m in members]
        body["admins"] = [m.user_id for m in members if m.role == TeamMembership.Role.ADMIN]
        body["members"] = [m.user_id for m in members]
    return body


def user_json(user: User) -> dict[str, Any]:
    return {"user_id": user.username, "user_email": user.email or None, "user_alias": user.user_alias or None,
            "user_role": user.user_role, "organization_id": user.organization_id,
            "created_at": moment(user.date_joined), "updated_at": moment(user.updated_at), **limits_json(user),
            **stored(user, USER_COLUMNS)}


def organization_member_json(member: OrganizationMembership) -> dict[str, Any]:
    """A LiteLLM_OrganizationMembership row."""
    return {"user_id": member.user_id, "organization_id": member.organization_id, "user_role": member.user_role,
            "user_email": member.user.email or None, "spend": money(member.spend), "budget_id": member.budget_id,
            "litellm_budget_table": budget_json(member.budget), "created_at": moment(member.created_at),
            "updated_at": moment(member.updated_at)}


def organization_json(org: Organization) -> dict[str, Any]:
    return {"organization_id": org.organization_id, "organization_alias": org.organization_alias,
            "budget_id": org.budget_id, "litellm_budget_table": budget_json(org.budget),
            "created_at": moment(org.created_at), "updated_at": moment(org.updated_at), **limits_json(org),
            **stored(org, ORG_COLUMNS)}


def end_user_json(end_user: EndUser) -> dict[str, Any]:
    """A LiteLLM_EndUserTable row with its budget row."""
    return {"user_id": end_user.user_id, "alias": end_user.alias or None, "spend": money(end_user.spend),
            "allowed_model_region": end_user.allowed_model_region or None,
            "default_model": end_user.default_model or None, "budget_id": end_user.budget_id,
            "litellm_budget_table": budget_json(end_user.budget), "blocked": end_user.blocked}


def spend_log_json(row: SpendLog) -> dict[str, Any]:
    """One SpendLog row with LiteLLM's field names (`api_key` is the key's hash)."""
    return {"request_id": row.request_id, "attempt": row.attempt, "api_key": row.key_hash,
            "call_type": row.call_type, "spend": money(row.cost), "total_tokens": row.prompt_tokens
            + row.completion_tokens, "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens, "cached_tokens": row.cached_tokens,
            "startTime": moment(row.start_time), "endTime": moment(row.end_time), "model": row.model_alias,
            "model_id": row.deployment_id, "custom_llm_provider": row.provider, "user": row.user_id,
            "team_id": row.team_id, "organization_id": row.organization_id, "end_user": row.end_user or None,
            "status": row.status, "error_type": row.error_type or None, "latency_ms": row.latency_ms,
            "ttft_ms": row.ttft_ms, "request_tags": list(row.tags or [])}
