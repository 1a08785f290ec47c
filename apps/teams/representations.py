"""Rows as LiteLLM's management API shows them: string ids, float money, ISO times."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from apps.teams.models import Organization, SpendLog, Team, TeamMembership, User, VirtualKey


def money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def moment(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def budget_json(row: Any) -> dict[str, Any]:
    return {"spend": money(row.spend), "max_budget": money(row.max_budget), "soft_budget": money(row.soft_budget),
            "budget_duration": row.budget_duration or None, "budget_reset_at": moment(row.budget_reset_at),
            "rpm_limit": row.rpm_limit, "tpm_limit": row.tpm_limit,
            "max_parallel_requests": row.max_parallel_requests, "models": list(row.allowed_models or []),
            "metadata": dict(row.metadata or {})}


def key_json(key: VirtualKey, *, secret: str | None = None) -> dict[str, Any]:
    """A key; `key` holds the secret only in the answer that created it."""
    body = {"token": key.token_hash, "key_name": key.key_name, "key_alias": key.key_alias or None,
            "user_id": key.user_id, "team_id": key.team_id, "organization_id": key.organization_id,
            "expires": moment(key.expires), "blocked": key.blocked, "created_at": moment(key.created_at),
            "updated_at": moment(key.updated_at), **budget_json(key)}
    body["tags"] = list(key.tags or [])
    if key.tags:  # LiteLLM keeps a key's tags in its metadata; scripts read them there
        body["metadata"] = {**body["metadata"], "tags": body["tags"]}
    if secret is not None:
        body = {"key": secret, "token_id": key.token_hash, **body}
    return body


def member_json(member: TeamMembership) -> dict[str, Any]:
    return {"user_id": member.user_id, "team_id": member.team_id, "user_email": member.user.email or None, "role": member.role,
            "spend": money(member.spend), "budget_reset_at": moment(member.budget_reset_at)}


def team_json(team: Team, members: list[TeamMembership] | None = None) -> dict[str, Any]:
    body = {"team_id": team.team_id, "team_alias": team.team_alias or None, "organization_id": team.organization_id,
            "blocked": team.blocked, "team_member_budget": money(team.team_member_budget),
            "created_at": moment(team.created_at), "updated_at": moment(team.updated_at), **budget_json(team)}
    if members is not None:
        body["members_with_roles"] = [{"user_id": m.user_id, "user_email": m.user.email or None,
                                       "role": m.role} for m in members]
    return body


def user_json(user: User) -> dict[str, Any]:
    return {"user_id": user.username, "user_email": user.email or None, "user_role": user.user_role,
            "created_at": moment(user.date_joined), **budget_json(user)}


def organization_json(org: Organization) -> dict[str, Any]:
    return {"organization_id": org.organization_id, "organization_alias": org.organization_alias,
            "created_at": moment(org.created_at), "updated_at": moment(org.updated_at), **budget_json(org)}


def spend_log_json(row: SpendLog) -> dict[str, Any]:
    """One SpendLog row with LiteLLM's field names (`api_key` is the key's hash)."""
    return {"request_id": row.request_id, "attempt": row.attempt, "api_key": row.key_hash,
            "call_type": row.call_type, "spend": money(row.cost), "total_tokens": row.prompt_tokens
            + row.completion_tokens, "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens, "cached_tokens": row.cached_tokens,
            "startTime": moment(row.start_time), "endTime": moment(row.end_time), "model": row.model_alias,
            "model_id": row.deployment_id, "custom_llm_provider": row.provider, "user": row.user_id,
            "team_id": row.team_id, "organization_id": row.organization_id, "end_user": row.end_user or None, "status": row.status,
            "error_type": row.error_type or None, "latency_ms": row.latency_ms, "ttft_ms": row.ttft_ms,
            "request_tags": list(row.tags or [])}
