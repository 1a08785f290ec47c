"""LiteLLM's rows as typed values: money as Decimal, times as aware UTC datetimes, JSON parsed, NULLs defaulted."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Limits:
    """The budget and limit columns LiteLLM repeats on keys, users, teams and budgets."""

    max_budget: Decimal | None = None
    soft_budget: Decimal | None = None
    budget_duration: str = ""
    budget_reset_at: datetime | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None


@dataclass(frozen=True, slots=True)
class Audit:
    """Who made and last changed a row, and when (LiteLLM's created_/updated_ columns)."""

    created_at: datetime | None = None
    created_by: str = ""
    updated_by: str = ""


@dataclass(frozen=True, slots=True)
class LiteLLMModelAliases:
    """A LiteLLM_ModelTable row: the model aliases of the team that points to it."""

    id: int
    aliases: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiteLLMObjectPermission:
    """A LiteLLM_ObjectPermissionTable row: the MCP servers, vector stores and agents an owner may use."""

    object_permission_id: str
    permission: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiteLLMBudget:
    budget_id: str
    limits: Limits
    model_max_budget: dict[str, Any]
    audit: Audit


@dataclass(frozen=True, slots=True)
class LiteLLMOrganization:
    organization_id: str
    alias: str
    budget_id: str
    models: tuple[str, ...]
    spend: Decimal
    metadata: dict[str, Any]
    model_spend: dict[str, Any]
    object_permission_id: str | None
    audit: Audit


@dataclass(frozen=True, slots=True)
class LiteLLMUser:
    user_id: str
    alias: str
    email: str
    role: str
    limits: Limits
    spend: Decimal
    models: tuple[str, ...]
    metadata: dict[str, Any]
    teams: tuple[str, ...]
    organization_id: str | None
    sso_user_id: str | None
    model_max_budget: dict[str, Any]
    model_spend: dict[str, Any]
    allowed_cache_controls: tuple[str, ...]
    policies: tuple[str, ...]
    object_permission_id: str | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class TeamMember:
    """One entry of a team's `members_with_roles`."""

    user_id: str
    role: str  # "admin" or "user"


@dataclass(frozen=True, slots=True)
class LiteLLMTeam:
    team_id: str
    alias: str
    organization_id: str | None
    limits: Limits
    spend: Decimal
    models: tuple[str, ...]
    metadata: dict[str, Any]
    blocked: bool
    members: tuple[TeamMember, ...]
    member_budget_id: str | None  # metadata.team_member_budget_id, LiteLLM's per-member budget
    model_max_budget: dict[str, Any]
    model_spend: dict[str, Any]
    router_settings: dict[str, Any]
    team_member_permissions: tuple[str, ...]
    policies: tuple[str, ...]
    allow_team_guardrail_config: bool
    model_table_id: int | None  # LiteLLM_ModelTable row holding the team's model aliases
    object_permission_id: str | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiteLLMTeamMembership:
    team_id: str
    user_id: str
    spend: Decimal
    budget_id: str | None


@dataclass(frozen=True, slots=True)
class LiteLLMOrganizationMembership:
    organization_id: str
    user_id: str
    role: str
    spend: Decimal
    budget_id: str | None


@dataclass(frozen=True, slots=True)
class LiteLLMEndUser:
    user_id: str
    alias: str
    spend: Decimal
    budget_id: str | None
    blocked: bool
    allowed_model_region: str
    default_model: str


@dataclass(frozen=True, slots=True)
class Rotation:
    """A key's automatic rotation settings and history."""

    auto_rotate: bool = False
    rotation_interval: str = ""
    rotation_count: int = 0
    last_rotation_at: datetime | None = None
    key_rotation_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LiteLLMKey:
    token_hash: str
    key_name: str
    key_alias: str
    user_id: str | None
    team_id: str | None
    organization_id: str | None
    budget_id: str | None
    models: tuple[str, ...]
    aliases: dict[str, Any]
    limits: Limits
    spend: Decimal
    expires: datetime | None
    blocked: bool
    metadata: dict[str, Any]
    model_max_budget: dict[str, Any]
    model_spend: dict[str, Any]
    allowed_routes: tuple[str, ...]
    allowed_cache_controls: tuple[str, ...]
    policies: tuple[str, ...]
    tags: tuple[str, ...]
    config: dict[str, Any]
    permissions: dict[str, Any]
    router_settings: dict[str, Any]
    soft_budget_cooldown: bool
    object_permission_id: str | None
    rotation: Rotation
    audit: Audit


@dataclass(frozen=True, slots=True)
class LiteLLMSpend:
    request_id: str
    call_type: str  # Tollgate's: "chat", "embedding", else LiteLLM's own name
    key_hash: str
    cost: Decimal
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    start_time: datetime
    end_time: datetime
    first_token_time: datetime | None
    model_group: str
    model_id: str
    provider: str
    user_id: str | None
    team_id: str | None
    organization_id: str | None
    end_user: str | None
    status: str  # "success" or "failure"
    error_type: str
    tags: tuple[str, ...] = field(default_factory=tuple)
