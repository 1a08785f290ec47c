"""LiteLLM's keys (LiteLLM_VerificationToken) written as VirtualKeys under the same SHA-256, so each secret keeps working."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from apps.teams.key_claims import same_owner
from apps.teams.litellm_import.records import LiteLLMKey, Limits
from apps.teams.litellm_import.report import TableReport
from apps.teams.litellm_import.upsert import upsert
from apps.teams.litellm_import.writer import Imported, Skip, limit_fields
from apps.teams.models import VirtualKey
from apps.teams.snapshot import key_ledger

# The budget columns LiteLLM reads from a key's budget_id over the key's own (LiteLLM_VerificationTokenView).
BUDGET_OVERRIDES = ("max_budget", "soft_budget", "rpm_limit", "tpm_limit")
KEY_NAME_LENGTH = VirtualKey._meta.get_field("key_name").max_length or 20


def key_label(key: LiteLLMKey) -> str:
    """How the report names a key: its alias or masked name, and the start of its hash (never the secret)."""
    return f"{key.key_alias or key.key_name or 'key'} ({key.token_hash[:12]})"


def key_limits(key: LiteLLMKey, done: Imported) -> tuple[Limits, dict[str, Any]]:
    """The limits LiteLLM enforces on this key: its budget's where the budget sets them, else its own."""
    budget = done.budgets.get(key.budget_id or "")
    if budget is None:
        return key.limits, key.model_max_budget
    overrides = {name: getattr(budget.limits, name) for name in BUDGET_OVERRIDES
                 if getattr(budget.limits, name) is not None}
    return replace(key.limits, **overrides), budget.model_max_budget or key.model_max_budget


def _owner_fields(key: LiteLLMKey, done: Imported, report: TableReport) -> dict[str, Any]:
    if key.team_id and key.team_id not in done.teams:
        # LiteLLM refuses a key whose team is gone; importing it without the team would lift the team's limits.
        raise Skip(f"team_id {key.team_id!r} is not in LiteLLM_TeamTable")
    user_id = key.user_id if key.user_id in done.users else None
    if key.user_id and user_id is None:
        report.note(key_label(key), f"user_id {key.user_id!r} is not in LiteLLM_UserTable: imported without a user")
    org_id = key.organization_id if key.organization_id in done.organizations else None
    if key.organization_id and org_id is None:
        report.note(key_label(key), f"organization_id {key.organization_id!r} is not in LiteLLM_OrganizationTable")
    return {"user_id": user_id, "team_id": key.team_id or None, "organization_id": org_id,
            "budget_id": done.budget(key.budget_id, owner="the key")}


def _alias(key: LiteLLMKey, owner: dict[str, Any], report: TableReport) -> str:
    """LiteLLM does not keep key aliases unique; Tollgate keeps them unique per owner (a user in a team), so a
    later holder of one among that owner's keys loses it (noted)."""
    others = VirtualKey.objects.filter(same_owner(user_id=owner["user_id"], team_id=owner["team_id"]),
                                       key_alias=key.key_alias).exclude(token_hash=key.token_hash)
    if not key.key_alias or not others.exists():
        return key.key_alias
    report.note(key_label(key), f"key_alias {key.key_alias!r} is held by another key of its owner: "
                                "imported without an alias")
    return ""


def write_key(key: LiteLLMKey, done: Imported, report: TableReport) -> None:
    limits, model_max_budget = key_limits(key, done)
    rotation = key.rotation
    owner = _owner_fields(key, done, report)
    fields = {**limit_fields(limits), **owner, "key_name": key.key_name[:KEY_NAME_LENGTH],
              "key_alias": _alias(key, owner, report), "allowed_models": list(key.models), "aliases": key.aliases,
              "spend": key.spend, "expires": key.expires, "blocked": key.blocked, "metadata": key.metadata,
              "tags": list(key.tags), "model_max_budget": model_max_budget, "model_spend": key.model_spend,
              "allowed_routes": list(key.allowed_routes), "allowed_cache_controls": list(key.allowed_cache_controls),
              "policies": list(key.policies), "config": key.config, "permissions": key.permissions,
              "router_settings": key.router_settings, "soft_budget_cooldown": key.soft_budget_cooldown,
              "object_permission": done.permission(key.object_permission_id, row_id=key_label(key), report=report),
              "auto_rotate": rotation.auto_rotate, "rotation_interval": rotation.rotation_interval,
              "rotation_count": rotation.rotation_count, "last_rotation_at": rotation.last_rotation_at,
              "key_rotation_at": rotation.key_rotation_at, "created_by": key.audit.created_by,
              "updated_by": key.audit.updated_by}
    written = upsert(VirtualKey, lookup={"token_hash": key.token_hash}, fields=fields,
                     stamps={"created_at": key.audit.created_at}, ledger=key_ledger)
    report.count(written.outcome)
