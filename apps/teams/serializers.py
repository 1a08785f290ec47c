"""Management API request bodies (LiteLLM field names). Unknown fields are rejected, errors name the field."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers

from apps.teams.durations import InvalidDuration, parse_duration
from apps.teams.models import TeamMembership, User

# API name -> model field, where they differ.
RENAMES = {"models": "allowed_models", "user_email": "email"}
# Fields the views resolve to rows themselves (or pass to services as arguments) rather than as columns.
NOT_COLUMNS = frozenset({"key", "new_key", "duration", "user_id", "team_id", "organization_id",
                         "members_with_roles", "teams", "auto_create_key", "spend"})


class StrictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A serializer that answers 400 naming the first field it does not know."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: [f"Unknown field '{unknown[0]}'."]})
        return super().to_internal_value(data)


class MoneyField(serializers.DecimalField):  # type: ignore[type-arg]
    """USD, at most 10 decimal places (more are rounded), never negative."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(max_digits=20, decimal_places=10, min_value=Decimal(0), coerce_to_string=False,
                         rounding=ROUND_HALF_UP, **kwargs)

    def validate_precision(self, value: Decimal) -> Decimal:
        return super().validate_precision(self.quantize(value))


class DurationField(serializers.CharField):
    """`30s`, `30m`, `1h`, `1d`, `7d`, `30d`, `1mo`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if text:
            try:
                parse_duration(text)
            except InvalidDuration as exc:
                raise serializers.ValidationError(str(exc)) from None
        return text


def optional_int() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, min_value=0)


def names() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), required=False)


class BudgetFields(StrictSerializer):
    """Budget and limit fields shared by keys, users, teams and organizations."""

    max_budget = MoneyField()
    soft_budget = MoneyField()
    budget_duration = DurationField()
    rpm_limit = optional_int()
    tpm_limit = optional_int()
    max_parallel_requests = optional_int()
    models = names()
    metadata = serializers.DictField(required=False)


class KeyFields(BudgetFields):
    key_alias = serializers.CharField(required=False, allow_blank=True, max_length=200)
    duration = DurationField()
    user_id = serializers.CharField(required=False, allow_null=True)
    team_id = serializers.CharField(required=False, allow_null=True)
    blocked = serializers.BooleanField(required=False)
    tags = names()


class KeyGenerateSerializer(KeyFields):
    key = serializers.RegexField(r"^sk-[A-Za-z0-9_\-]{8,200}$", required=False,
                                 error_messages={"invalid": "A custom key must look like sk-... (8+ characters)."})


class KeyUpdateSerializer(KeyFields):
    key = serializers.CharField()
    spend = MoneyField()


class KeyRegenerateSerializer(KeyFields):
    key = serializers.CharField()
    new_key = serializers.RegexField(r"^sk-[A-Za-z0-9_\-]{8,200}$", required=False,
                                     error_messages={"invalid": "A custom key must look like sk-... (8+ characters)."})


class KeyRefSerializer(StrictSerializer):
    key = serializers.CharField()


class KeyDeleteSerializer(StrictSerializer):
    keys = names()
    key_aliases = names()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("keys") and not attrs.get("key_aliases"):
            raise serializers.ValidationError({"keys": ["Give `keys` or `key_aliases`."]})
        return attrs


class MemberSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=[c.value for c in TeamMembership.Role], default="user")
    user_id = serializers.CharField(required=False)
    user_email = serializers.EmailField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_id") and not attrs.get("user_email"):
            raise serializers.ValidationError({"user_id": ["Give `user_id` or `user_email`."]})
        return attrs


class TeamFields(BudgetFields):
    team_alias = serializers.CharField(required=False, max_length=200)
    organization_id = serializers.CharField(required=False, allow_null=True)
    blocked = serializers.BooleanField(required=False)
    team_member_budget = MoneyField()


class TeamNewSerializer(TeamFields):
    team_alias = serializers.CharField(max_length=200)
    members_with_roles = MemberSerializer(many=True, required=False)


class TeamUpdateSerializer(TeamFields):
    team_id = serializers.CharField()
    spend = MoneyField()


class TeamDeleteSerializer(StrictSerializer):
    team_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class TeamMemberAddSerializer(StrictSerializer):
    team_id = serializers.CharField()
    member = serializers.JSONField()

    def validate_member(self, value: Any) -> list[dict[str, Any]]:
        members = MemberSerializer(data=value if isinstance(value, list) else [value], many=True)
        members.is_valid(raise_exception=True)
        return list(members.validated_data)


class TeamMemberDeleteSerializer(StrictSerializer):
    team_id = serializers.CharField()
    user_id = serializers.CharField(required=False)
    user_email = serializers.EmailField(required=False)


class UserFields(BudgetFields):
    user_email = serializers.EmailField(required=False, allow_blank=True)
    user_role = serializers.ChoiceField(choices=[c.value for c in User.Role], required=False)


class UserNewSerializer(UserFields):
    user_id = serializers.RegexField(r"^[\w.@+\-]{1,150}$", required=False)
    teams = serializers.ListField(child=serializers.CharField(), required=False)
    auto_create_key = serializers.BooleanField(default=True)


class UserUpdateSerializer(UserFields):
    user_id = serializers.CharField(required=False)
    spend = MoneyField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_id") and not attrs.get("user_email"):
            raise serializers.ValidationError({"user_id": ["Give `user_id` or `user_email`."]})
        return attrs


class UserDeleteSerializer(StrictSerializer):
    user_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class OrganizationNewSerializer(BudgetFields):
    organization_alias = serializers.CharField(max_length=200)


class SpendQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Query string of /spend/logs and /global/spend/report."""

    start_date = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])
    end_date = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])
    api_key = serializers.CharField(required=False)
    user_id = serializers.CharField(required=False)
    team_id = serializers.CharField(required=False)
    request_id = serializers.CharField(required=False)
    group_by = serializers.ChoiceField(choices=["team", "key", "model", "user", "day"], default="team")
    format = serializers.ChoiceField(choices=["json", "csv"], default="json")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=1000)


def columns(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validated API fields as model column values (`models` -> `allowed_models`)."""
    values = {RENAMES.get(name, name): value for name, value in data.items() if name not in NOT_COLUMNS}
    if "email" in values and values["email"] is None:
        values["email"] = ""
    for name in ("budget_duration", "key_alias"):
        if name in values and values[name] is None:
            values[name] = ""
    return values
