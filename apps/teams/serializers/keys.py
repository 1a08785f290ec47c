"""Key bodies: LiteLLM's GenerateKeyRequest, UpdateKeyRequest, RegenerateKeyRequest, KeyRequest."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.teams.serializers.fields import (DurationField, GenerateFields, MoneyField, SecretField, StrictSerializer,
                                           flag, ident, limit_type, mapping, names, page_number,
                                           vector_store_indexes)

KEY_TYPES = ["llm_api", "management", "read_only", "default"]


class KeyFields(GenerateFields):
    """KeyRequestBase."""

    budget_id = ident()
    tags = names()
    enforced_params = names()
    allowed_routes = names()
    allowed_passthrough_routes = names()
    allowed_vector_store_indexes = vector_store_indexes()
    rpm_limit_type = limit_type()
    tpm_limit_type = limit_type()
    router_settings = mapping()
    organization_id = ident()


class KeyGenerateSerializer(KeyFields):
    key = SecretField()
    send_invite_email = flag()
    key_type = serializers.ChoiceField(choices=KEY_TYPES, required=False, allow_null=True)
    auto_rotate = flag()
    rotation_interval = DurationField()


class KeyUpdateSerializer(KeyFields):
    key = serializers.CharField()
    temp_budget_increase = MoneyField()
    temp_budget_expiry = serializers.DateTimeField(required=False, allow_null=True)
    auto_rotate = flag()
    rotation_interval = DurationField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("temp_budget_increase" in attrs) != ("temp_budget_expiry" in attrs):
            raise serializers.ValidationError(
                {"temp_budget_increase": ["temp_budget_increase and temp_budget_expiry must be set together."]})
        return attrs


class KeyRegenerateSerializer(KeyGenerateSerializer):
    key = serializers.CharField(required=False)
    new_key = SecretField()
    new_master_key = serializers.CharField(required=False, allow_null=True)
    grace_period = DurationField()  # LiteLLM's: the old secret keeps working this long ("24h")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("new_master_key"):
            raise serializers.ValidationError(
                {"new_master_key": ["Rotating the master key is done with TOLLGATE_MASTER_KEY, not here."]})
        return attrs


class KeyRefSerializer(StrictSerializer):
    key = serializers.CharField()


class KeyDeleteSerializer(StrictSerializer):
    keys = names()
    key_aliases = names()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("keys") and not attrs.get("key_aliases"):
            raise serializers.ValidationError({"keys": ["Give `keys` or `key_aliases`."]})
        return attrs


SORTABLE_KEY_COLUMNS = ["created_at", "updated_at", "spend", "max_budget", "key_alias", "user_id", "team_id",
                        "expires", "key_name"]


class KeyListSerializer(StrictSerializer):
    """/key/list query string."""

    page = page_number()
    size = serializers.IntegerField(default=10, min_value=1, max_value=100)
    user_id = serializers.CharField(required=False)
    team_id = serializers.CharField(required=False)
    organization_id = serializers.CharField(required=False)
    key_hash = serializers.CharField(required=False)
    key_alias = serializers.CharField(required=False)
    return_full_object = serializers.BooleanField(default=False)
    # Unset, a team admin's list holds its teams' keys too; false narrows it to its own, as LiteLLM's default.
    include_team_keys = serializers.BooleanField(required=False, allow_null=True, default=None)
    include_created_by_keys = serializers.BooleanField(default=False)
    sort_by = serializers.ChoiceField(choices=SORTABLE_KEY_COLUMNS, required=False)
    sort_order = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    expand = serializers.ListField(child=serializers.ChoiceField(choices=["user"]), required=False)
    status = serializers.ChoiceField(choices=["deleted"], required=False)
