"""One mapper per LiteLLM table: a row (a dict from the reader) to its typed value, or RowSkipped with the reason."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from apps.teams.litellm_import.records import (
    Audit, LiteLLMBudget, LiteLLMEndUser, LiteLLMKey, LiteLLMModelAliases, LiteLLMObjectPermission, LiteLLMOrganization,
    LiteLLMOrganizationMembership, LiteLLMSpend, LiteLLMTeam, LiteLLMTeamMembership, LiteLLMUser, Limits, Rotation,
    TeamMember)

Row = Mapping[str, Any]
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# LiteLLM's call types (CallTypes in its types/utils.py) that Tollgate records under its own names.
CALL_TYPES = {"completion": "chat", "acompletion": "chat", "embedding": "embedding", "aembedding": "embedding"}
MONEY_PLACES = Decimal("1e-10")
MAX_LIMIT = 2**31 - 1  # PositiveIntegerField on every backend  # the scale of Tollgate's money columns


class RowSkipped(Exception):
    """This row cannot be brought over; the message says why."""


def money(value: Any) -> Decimal:
    """A LiteLLM Float (DOUBLE PRECISION dollars) as Decimal, its shortest repr at Tollgate's scale."""
    return Decimal(repr(float(value or 0))).quantize(MONEY_PLACES)


def optional_money(value: Any) -> Decimal | None:
    return None if value is None else money(value)


def aware(value: datetime | None) -> datetime | None:
    """Prisma's TIMESTAMP(3) holds UTC without a zone."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_value(value: Any, default: Any) -> Any:
    """A JSON column as Python (psycopg parses JSONB; older rows may hold JSON text)."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def json_object(value: Any) -> dict[str, Any]:
    parsed = json_value(value, {})
    return dict(parsed) if isinstance(parsed, dict) else {}


def strings(value: Any) -> tuple[str, ...]:
    """A TEXT[] (or a JSON list) as a tuple of strings; NULL is empty."""
    value = json_value(value, [])
    return tuple(str(item) for item in value if item is not None) if isinstance(value, list | tuple) else ()


def limit(value: Any) -> int | None:
    """A BigInt/Int limit: negative values (never valid) become no limit, and one past what Tollgate's integer
    columns hold is held at their largest (both mean "no limit" in practice)."""
    return None if value is None or int(value) < 0 else min(int(value), MAX_LIMIT)


def text(value: Any) -> str:
    return "" if value is None else str(value)


def limits(row: Row) -> Limits:
    return Limits(max_budget=optional_money(row.get("max_budget")), soft_budget=optional_money(row.get("soft_budget")),
                  budget_duration=text(row.get("budget_duration")), budget_reset_at=aware(row.get("budget_reset_at")),
                  rpm_limit=limit(row.get("rpm_limit")), tpm_limit=limit(row.get("tpm_limit")),
                  max_parallel_requests=limit(row.get("max_parallel_requests")))


def audit(row: Row) -> Audit:
    return Audit(created_at=aware(row.get("created_at")), created_by=text(row.get("created_by")),
                 updated_by=text(row.get("updated_by")))


def map_model_aliases(row: Row) -> LiteLLMModelAliases:
    return LiteLLMModelAliases(id=int(row["id"]), aliases=json_object(row.get("aliases")))


PERMISSION_LISTS = ("mcp_servers", "mcp_access_groups", "vector_stores", "agents", "agent_access_groups")


def map_object_permission(row: Row) -> LiteLLMObjectPermission:
    permission: dict[str, Any] = {name: list(strings(row.get(name))) for name in PERMISSION_LISTS}
    permission["mcp_tool_permissions"] = json_object(row.get("mcp_tool_permissions"))
    return LiteLLMObjectPermission(object_permission_id=row["object_permission_id"], permission=permission)


def map_budget(row: Row) -> LiteLLMBudget:
    return LiteLLMBudget(budget_id=row["budget_id"], limits=limits(row),
                         model_max_budget=json_object(row.get("model_max_budget")), audit=audit(row))


def map_organization(row: Row) -> LiteLLMOrganization:
    return LiteLLMOrganization(
        organization_id=row["organization_id"], alias=text(row.get("organization_alias")) or row["organization_id"],
        budget_id=text(row.get("budget_id")), models=strings(row.get("models")), spend=money(row.get("spend")),
        metadata=json_object(row.get("metadata")), model_spend=json_object(row.get("model_spend")),
        object_permission_id=row.get("object_permission_id"), audit=audit(row))


def map_user(row: Row) -> LiteLLMUser:
    return LiteLLMUser(
        user_id=row["user_id"], alias=text(row.get("user_alias")), email=text(row.get("user_email")),
        role=text(row.get("user_role")) or "internal_user", limits=limits(row), spend=money(row.get("spend")),
        models=strings(row.get("models")), metadata=json_object(row.get("metadata")), teams=strings(row.get("teams")),
        organization_id=row.get("organization_id"), sso_user_id=row.get("sso_user_id"),
        model_max_budget=json_object(row.get("model_max_budget")), model_spend=json_object(row.get("model_spend")),
        allowed_cache_controls=strings(row.get("allowed_cache_controls")), policies=strings(row.get("policies")),
        object_permission_id=row.get("object_permission_id"), created_at=aware(row.get("created_at")))


def team_members(value: Any) -> tuple[TeamMember, ...]:
    """`members_with_roles` entries that name a user (LiteLLM also keeps email-only invitations)."""
    entries = json_value(value, [])
    if not isinstance(entries, list):
        return ()
    return tuple(TeamMember(user_id=str(e["user_id"]), role="admin" if e.get("role") == "admin" else "user")
                 for e in entries if isinstance(e, dict) and e.get("user_id"))


def map_team(row: Row) -> LiteLLMTeam:
    metadata = json_object(row.get("metadata"))
    return LiteLLMTeam(
        team_id=row["team_id"], alias=text(row.get("team_alias")), organization_id=row.get("organization_id"),
        limits=limits(row), spend=money(row.get("spend")), models=strings(row.get("models")), metadata=metadata,
        blocked=bool(row.get("blocked")), members=team_members(row.get("members_with_roles")),
        member_budget_id=metadata.get("team_member_budget_id") or None,
        model_max_budget=json_object(row.get("model_max_budget")), model_spend=json_object(row.get("model_spend")),
        router_settings=json_object(row.get("router_settings")),
        team_member_permissions=strings(row.get("team_member_permissions")), policies=strings(row.get("policies")),
        allow_team_guardrail_config=bool(row.get("allow_team_guardrail_config")), model_table_id=row.get("model_id"),
        object_permission_id=row.get("object_permission_id"), created_at=aware(row.get("created_at")))


def map_team_membership(row: Row) -> LiteLLMTeamMembership:
    return LiteLLMTeamMembership(team_id=row["team_id"], user_id=row["user_id"], spend=money(row.get("spend")),
                                 budget_id=row.get("budget_id"))


def map_organization_membership(row: Row) -> LiteLLMOrganizationMembership:
    return LiteLLMOrganizationMembership(
        organization_id=row["organization_id"], user_id=row["user_id"], role=text(row.get("user_role")) or "internal_user",
        spend=money(row.get("spend")), budget_id=row.get("budget_id"))


def map_end_user(row: Row) -> LiteLLMEndUser:
    return LiteLLMEndUser(
        user_id=row["user_id"], alias=text(row.get("alias")), spend=money(row.get("spend")),
        budget_id=row.get("budget_id"), blocked=bool(row.get("blocked")),
        allowed_model_region=text(row.get("allowed_model_region")), default_model=text(row.get("default_model")))


def map_key(row: Row) -> LiteLLMKey:
    token = text(row.get("token"))
    if not SHA256_HEX.match(token):
        # LiteLLM hashes every key it stores; a plain `sk-...` here would be a secret at rest.
        raise RowSkipped("token is not a SHA-256 hex digest")
    metadata = json_object(row.get("metadata"))
    return LiteLLMKey(
        token_hash=token, key_name=text(row.get("key_name")), key_alias=text(row.get("key_alias")),
        user_id=row.get("user_id"), team_id=row.get("team_id"), organization_id=row.get("organization_id"),
        budget_id=row.get("budget_id"), models=strings(row.get("models")), aliases=json_object(row.get("aliases")),
        limits=limits(row), spend=money(row.get("spend")), expires=aware(row.get("expires")),
        blocked=bool(row.get("blocked")), metadata=metadata, model_max_budget=json_object(row.get("model_max_budget")),
        model_spend=json_object(row.get("model_spend")), allowed_routes=strings(row.get("allowed_routes")),
        allowed_cache_controls=strings(row.get("allowed_cache_controls")), policies=strings(row.get("policies")),
        tags=strings(metadata.get("tags")), config=json_object(row.get("config")),
        permissions=json_object(row.get("permissions")), router_settings=json_object(row.get("router_settings")),
        soft_budget_cooldown=bool(row.get("soft_budget_cooldown")), object_permission_id=row.get("object_permission_id"),
        rotation=rotation(row), audit=audit(row))


def rotation(row: Row) -> Rotation:
    return Rotation(auto_rotate=bool(row.get("auto_rotate")), rotation_interval=text(row.get("rotation_interval")),
                    rotation_count=max(int(row.get("rotation_count") or 0), 0),
                    last_rotation_at=aware(row.get("last_rotation_at")), key_rotation_at=aware(row.get("key_rotation_at")))


def _cached_tokens(metadata: Mapping[str, Any]) -> int:
    usage = metadata.get("usage_object") or {}
    details = usage.get("prompt_tokens_details") or {} if isinstance(usage, dict) else {}
    return int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0


def _error_type(metadata: Mapping[str, Any]) -> str:
    info = metadata.get("error_information") or {}
    return text(info.get("error_class"))[:100] if isinstance(info, dict) else ""


def map_spend(row: Row) -> LiteLLMSpend:
    metadata = json_object(row.get("metadata"))
    start, end = aware(row.get("startTime")), aware(row.get("endTime"))
    if start is None or end is None:
        raise RowSkipped("no startTime or endTime")
    call_type = text(row.get("call_type"))
    return LiteLLMSpend(
        request_id=row["request_id"], call_type=CALL_TYPES.get(call_type, call_type[:30] or "chat"),
        key_hash=text(row.get("api_key")), cost=money(row.get("spend")),
        prompt_tokens=max(int(row.get("prompt_tokens") or 0), 0),
        completion_tokens=max(int(row.get("completion_tokens") or 0), 0), cached_tokens=_cached_tokens(metadata),
        start_time=start, end_time=end, first_token_time=aware(row.get("completionStartTime")),
        model_group=text(row.get("model_group")) or text(row.get("model")), model_id=text(row.get("model_id")),
        provider=text(row.get("custom_llm_provider")), user_id=row.get("user") or None,
        team_id=row.get("team_id") or None, organization_id=row.get("organization_id") or None,
        end_user=row.get("end_user") or None, status="failure" if row.get("status") == "failure" else "success",
        error_type=_error_type(metadata), tags=strings(row.get("request_tags")))
