"""/budget/* and /end_user/* (= /customer/*): LiteLLM's bodies and answers; proxy admins write, viewers read."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.errors import InvalidRequest, NotFound
from apps.teams import end_users as services
from apps.teams.models import Budget, EndUser
from apps.teams.representations import budget_json, end_user_json
from apps.teams.selectors import Caller
from apps.teams.use_cases.common import existing_budget

BUDGET_FIELDS = ("max_budget", "soft_budget", "max_parallel_requests", "tpm_limit", "rpm_limit", "model_max_budget",
                 "budget_duration", "budget_reset_at")
# What /budget/settings describes, in LiteLLM's words for each field's meaning.
SETTINGS = {"max_budget": ("float", "Requests fail once spend reaches this (USD)."),
            "soft_budget": ("float", "Past this spend an alert goes out; requests still pass."),
            "max_parallel_requests": ("int", "Concurrent requests allowed."),
            "tpm_limit": ("int", "Tokens per minute."), "rpm_limit": ("int", "Requests per minute."),
            "budget_duration": ("str", "How often spend resets: 30s, 1h, 1d, 7d, 30d, 1mo."),
            "model_max_budget": ("dict", "Budget per model.")}


def budget_values(body: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: body[name] for name in BUDGET_FIELDS if name in body}
    if "budget_duration" in values and values["budget_duration"] is None:
        values["budget_duration"] = ""
    if "model_max_budget" in values and values["model_max_budget"] is None:
        values["model_max_budget"] = {}
    return values


def budget_get(budget_id: str) -> Budget:
    budget = Budget.objects.filter(budget_id=budget_id).first()
    if budget is None:
        raise NotFound(f"Budget '{budget_id}' not found.", param="budget_id")
    return budget


def budget_new(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /budget/new."""
    budget_id = body.get("budget_id")
    if budget_id and Budget.objects.filter(budget_id=budget_id).exists():
        raise InvalidRequest(f"Budget id '{budget_id}' already exists.", param="budget_id")
    return budget_json(services.budget_new(fields=budget_values(body), budget_id=budget_id,
                                           actor=caller.user_id or "")) or {}


def budget_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /budget/update."""
    budget = services.budget_update(budget=budget_get(body["budget_id"]), fields=budget_values(body),
                                    actor=caller.user_id or "")
    return budget_json(budget) or {}


def budget_info(*, caller: Caller, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """POST /budget/info: the budgets named in `budgets`."""
    return [budget_json(budget_get(ref)) or {} for ref in body["budgets"]]


def budget_settings(*, caller: Caller, budget_id: str) -> list[dict[str, Any]]:
    """GET /budget/settings?budget_id=...: each setting with its type, meaning and value."""
    budget = budget_get(budget_id)
    values = budget_json(budget) or {}
    return [{"field_name": name, "field_type": kind, "field_description": text, "field_value": values.get(name),
             "stored_in_db": True, "field_default_value": None} for name, (kind, text) in SETTINGS.items()]


def budget_list(*, caller: Caller) -> list[dict[str, Any]]:
    """GET /budget/list."""
    return [budget_json(b) or {} for b in Budget.objects.order_by("created_at", "budget_id")]


def budget_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /budget/delete: answers the deleted budget."""
    budget = budget_get(body["id"])
    answer = budget_json(budget) or {}
    services.budget_delete(budget=budget)
    return answer


def end_user_get(user_id: str) -> EndUser:
    end_user = EndUser.objects.select_related("budget").filter(user_id=user_id).first()
    if end_user is None:
        raise NotFound(f"End User Id={user_id} does not exist in db", param="end_user_id")
    return end_user


def end_user_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    fields = {name: body[name] for name in ("alias", "blocked", "allowed_model_region", "default_model", "spend")
              if name in body}
    for name in ("alias", "allowed_model_region", "default_model"):
        if name in fields and fields[name] is None:
            fields[name] = ""
    if fields.get("spend") is None:
        fields.pop("spend", None)
    return fields


def end_user_new(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /end_user/new (/customer/new): a budget_id, or budget fields that make the end user's own budget."""
    if EndUser.objects.filter(user_id=body["user_id"]).exists():
        raise InvalidRequest(f"End user '{body['user_id']}' already exists.", param="user_id")
    budget = existing_budget(body.get("budget_id"))
    own = budget_values(body)
    if budget is None and any(v is not None for v in own.values()):
        budget = services.budget_new(fields=own, actor=caller.user_id or "")
    end_user = services.end_user_new(user_id=body["user_id"], fields=end_user_fields(body), budget=budget)
    return end_user_json(end_user)


def end_user_info(*, caller: Caller, end_user_id: str) -> dict[str, Any]:
    """GET /end_user/info?end_user_id=..."""
    return end_user_json(end_user_get(end_user_id))


def end_user_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /end_user/update."""
    end_user = end_user_get(body["user_id"])
    budget = existing_budget(body.get("budget_id"))
    limits = {"max_budget": body["max_budget"]} if body.get("max_budget") is not None else None
    updated = services.end_user_update(end_user=end_user, fields=end_user_fields(body), budget=budget,
                                       budget_fields=limits)
    return end_user_json(updated)


def end_user_list(*, caller: Caller) -> list[dict[str, Any]]:
    """GET /end_user/list."""
    return [end_user_json(e) for e in EndUser.objects.select_related("budget").order_by("created_at", "user_id")]


def end_user_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /end_user/delete: every id must exist."""
    end_users = [end_user_get(ref) for ref in body["user_ids"]]
    deleted = services.end_user_delete(end_users=end_users)
    return {"deleted_customers": deleted, "message": f"Successfully deleted customers with ids: {deleted}"}


def end_user_block(*, caller: Caller, body: Mapping[str, Any], blocked: bool) -> dict[str, Any]:
    """POST /end_user/block and /end_user/unblock."""
    ids = services.end_user_block(user_ids=body["user_ids"], blocked=blocked)
    if blocked:
        return {"blocked_users": ids}
    still = EndUser.objects.filter(blocked=True).order_by("user_id").values_list("user_id", flat=True)
    return {"blocked_users": list(still)}  # LiteLLM answers an unblock with who stays blocked
