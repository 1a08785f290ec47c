"""Field types shared by the management API bodies. Unknown fields are rejected, errors name the field."""
from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.teams.durations import duration_problem
from apps.teams.models import ID_LENGTH

# API name -> model field, where they differ.
RENAMES = {"models": "allowed_models", "user_email": "email"}
# Fields the use cases resolve to rows themselves (or pass to services as arguments) rather than as columns.
NOT_COLUMNS = frozenset({
    "key", "new_key", "duration", "user_id", "team_id", "organization_id", "budget_id", "members_with_roles",
    "admins", "members", "teams", "organizations", "auto_create_key", "spend", "send_invite_email", "password",
    "new_master_key", "max_budget_in_team", "grace_period"})
LIMIT_TYPES = ["guaranteed_throughput", "best_effort_throughput", "dynamic"]
# Fields whose null means "empty" for a column that is not nullable.
BLANK_IF_NULL = ("budget_duration", "key_alias", "email", "team_alias", "user_alias", "rotation_interval",
                 "rpm_limit_type", "tpm_limit_type", "team_member_key_duration", "team_member_budget_duration",
                 "organization_alias", "default_model", "allowed_model_region", "alias", "key_type", "updated_by")
# Fields whose null means "not given" for a column that is not nullable (its default, or unchanged).
UNSET_IF_NULL = ("blocked", "auto_rotate", "allow_team_guardrail_config", "user_role")
EMPTY_IF_NULL = {"metadata": dict, "aliases": dict, "config": dict, "permissions": dict, "model_max_budget": dict,
                 "model_rpm_limit": dict, "model_tpm_limit": dict, "router_settings": dict, "object_permission": dict,
                 "secret_manager_settings": dict, "model_aliases": dict, "allowed_models": list, "tags": list,
                 "allowed_cache_controls": list, "allowed_routes": list, "allowed_passthrough_routes": list,
                 "allowed_vector_store_indexes": list, "enforced_params": list, "guardrails": list, "policies": list,
                 "prompts": list, "team_member_permissions": list}


class StrictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A serializer that answers 400 naming the first field it does not know."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: [f"Unknown field '{unknown[0]}'."]})
        return super().to_internal_value(data)


MOST_USD = Decimal(10**9)  # a digit below the columns' 10 whole digits: SQLite keeps decimals as floats, and
# a float near 1e10 reads back as 1e10, which no longer fits (an error on every later read of the row)


class MoneyField(serializers.DecimalField):  # type: ignore[type-arg]
    """USD up to a billion, at most 10 decimal places (more are rounded), never negative."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(max_digits=20, decimal_places=10, min_value=Decimal(0), max_value=MOST_USD,
                         coerce_to_string=False, rounding=ROUND_HALF_UP, **kwargs)

    def validate_precision(self, value: Decimal) -> Decimal:
        # The bound first: quantizing a value with too many whole digits raises InvalidOperation (a 500).
        if value.is_finite() and value > MOST_USD:
            self.fail("max_value", max_value=MOST_USD)
        if value.is_finite() and value < 0:
            self.fail("min_value", min_value=0)
        return super().validate_precision(self.quantize(value))


SECRET_MIN_LENGTH = 32
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_\-]+")


@extend_schema_field({"type": "string", "nullable": True, "minLength": SECRET_MIN_LENGTH, "maxLength": 200,
                      "pattern": "^sk-[A-Za-z0-9_-]+$"})
class SecretField(serializers.CharField):
    """A client-chosen key secret: `sk-`, then letters, digits, `-` or `_`, 32+ characters in all (unguessable)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, max_length=200, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not text.startswith("sk-"):
            raise serializers.ValidationError("A custom key must start with sk-.")
        if len(text) < SECRET_MIN_LENGTH:
            raise serializers.ValidationError(
                f"A custom key must be at least {SECRET_MIN_LENGTH} characters long, so it cannot be guessed.")
        if not SECRET_CHARACTERS.fullmatch(text[3:]):
            raise serializers.ValidationError("A custom key may hold only letters, digits, '-' and '_' after sk-.")
        return text


@extend_schema_field({"type": "string", "nullable": True,
                      "pattern": r"^(\s*[0-9]{1,6}\s*(s|m|h|d|w|mo)\s*|hourly|daily|weekly|monthly|yearly)$"})
class DurationField(serializers.CharField):
    """`30s`, `30m`, `1h`, `1d`, `7d`, `30d`, `1mo`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        problem = duration_problem(text)
        if problem:
            raise serializers.ValidationError(problem)
        return text


LARGEST_LIMIT = 2_147_483_647  # the limit columns are PositiveIntegerFields: 32 bits on every database
LAST_PAGE = 1_000_000  # past it an offset would overflow the database's integers


def optional_int() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=LARGEST_LIMIT)


def page_number(**kwargs: Any) -> serializers.IntegerField:
    """A 1-based page number."""
    kwargs.setdefault("default", 1)
    return serializers.IntegerField(min_value=1, max_value=LAST_PAGE, **kwargs)


def names() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)


def mapping() -> serializers.DictField:
    return serializers.DictField(required=False, allow_null=True)


def int_map() -> serializers.DictField:
    """{"model": limit}, as LiteLLM's model_rpm_limit / model_tpm_limit."""
    return serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=LARGEST_LIMIT), required=False,
                                 allow_null=True)


def text(**kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("allow_blank", True)
    kwargs.setdefault("max_length", 200)
    return serializers.CharField(**kwargs)


def ident(**kwargs: Any) -> serializers.CharField:
    """A client-chosen string id (team_id, organization_id, budget_id ...)."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    return serializers.CharField(max_length=ID_LENGTH, **kwargs)


def limit_type() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=LIMIT_TYPES, required=False, allow_null=True)


def flag() -> serializers.BooleanField:
    return serializers.BooleanField(required=False, allow_null=True)


class ObjectPermissionSerializer(StrictSerializer):
    """LiteLLM_ObjectPermissionBase: MCP servers, vector stores and agents an object may use."""

    mcp_servers = names()
    mcp_access_groups = names()
    mcp_tool_permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                                 required=False, allow_null=True)
    vector_stores = names()
    agents = names()
    agent_access_groups = names()


class VectorStoreIndexSerializer(StrictSerializer):
    index_name = serializers.CharField()
    index_permissions = serializers.ListField(child=serializers.ChoiceField(choices=["read", "write"]))


def object_permission() -> ObjectPermissionSerializer:
    return ObjectPermissionSerializer(required=False, allow_null=True)


def vector_store_indexes() -> VectorStoreIndexSerializer:
    return VectorStoreIndexSerializer(many=True, required=False, allow_null=True)


class UserRefSerializer(StrictSerializer):
    """A user named by `user_id` or `user_email` (LiteLLM's MemberBase / MemberDeleteRequest)."""

    user_id = serializers.CharField(required=False, allow_null=True)
    user_email = serializers.EmailField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_id") and not attrs.get("user_email"):
            raise serializers.ValidationError({"user_id": ["Give `user_id` or `user_email`."]})
        return attrs


class MembersField(serializers.JSONField):
    """`member`: one member object or a list of them, validated by `child` (always a list after)."""

    def __init__(self, child: type[StrictSerializer], **kwargs: Any) -> None:
        self.child_class = child
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        members = self.child_class(data=data if isinstance(data, list) else [data], many=True)
        members.is_valid(raise_exception=True)
        return list(members.validated_data)


class LimitFields(StrictSerializer):
    """Budget and limit fields most LiteLLM request models share."""

    max_budget = MoneyField()
    soft_budget = MoneyField()
    budget_duration = DurationField()
    rpm_limit = optional_int()
    tpm_limit = optional_int()
    max_parallel_requests = optional_int()
    models = names()
    metadata = mapping()
    model_max_budget = mapping()
    model_rpm_limit = int_map()
    model_tpm_limit = int_map()
    object_permission = object_permission()


class GenerateFields(LimitFields):
    """LiteLLM's GenerateRequestBase: what key and user requests share."""

    key_alias = text()
    duration = DurationField()
    spend = MoneyField()
    user_id = ident()
    team_id = ident()
    allowed_cache_controls = names()
    config = mapping()
    permissions = mapping()
    guardrails = names()
    policies = names()
    prompts = names()
    blocked = flag()
    aliases = mapping()


def columns(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validated API fields as model column values (`models` -> `allowed_models`, null -> empty)."""
    values = {RENAMES.get(name, name): value for name, value in data.items() if name not in NOT_COLUMNS}
    for name in BLANK_IF_NULL:
        if name in values and values[name] is None:
            values[name] = ""
    for name in UNSET_IF_NULL:
        if name in values and values[name] is None:
            del values[name]
    for name, empty in EMPTY_IF_NULL.items():
        if name in values and values[name] is None:
            values[name] = empty()
    for name in ("object_permission",):
        if name in values:
            values[name] = dict(values[name])
    if values.get("allowed_vector_store_indexes"):
        values["allowed_vector_store_indexes"] = [dict(item) for item in values["allowed_vector_store_indexes"]]
    return values
