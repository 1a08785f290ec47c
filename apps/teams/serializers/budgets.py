"""Budget and end-user bodies: LiteLLM's BudgetNewRequest, NewCustomerRequest, UpdateCustomerRequest."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.teams.models import EndUser
from apps.teams.serializers.fields import DurationField, MoneyField, StrictSerializer, ident, mapping, optional_int, text


class BudgetFields(StrictSerializer):
    max_budget = MoneyField()
    soft_budget = MoneyField()
    max_parallel_requests = optional_int()
    tpm_limit = optional_int()
    rpm_limit = optional_int()
    budget_duration = DurationField()
    model_max_budget = mapping()
    budget_reset_at = serializers.DateTimeField(required=False, allow_null=True)


class BudgetNewSerializer(BudgetFields):
    budget_id = ident()


class BudgetUpdateSerializer(BudgetFields):
    budget_id = serializers.CharField()


class BudgetInfoSerializer(StrictSerializer):
    budgets = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class BudgetDeleteSerializer(StrictSerializer):
    id = serializers.CharField()


REGIONS = [c.value for c in EndUser.Region]


class EndUserFields(StrictSerializer):
    user_id = serializers.CharField(max_length=200)
    alias = text()
    blocked = serializers.BooleanField(required=False)
    budget_id = ident()
    allowed_model_region = serializers.ChoiceField(choices=REGIONS, required=False, allow_null=True)
    default_model = text()
    max_budget = MoneyField()


class EndUserNewSerializer(EndUserFields, BudgetFields):
    """NewCustomerRequest: its own budget fields, or a budget_id, not both."""

    spend = MoneyField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("max_budget") is not None and attrs.get("budget_id"):
            raise serializers.ValidationError({"max_budget": ["Set either 'max_budget' or 'budget_id', not both."]})
        return attrs


class EndUserUpdateSerializer(EndUserFields):
    """UpdateCustomerRequest."""


class EndUserIdsSerializer(StrictSerializer):
    user_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)
