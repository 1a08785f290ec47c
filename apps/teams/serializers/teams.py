"""Team bodies: LiteLLM's NewTeamRequest, UpdateTeamRequest, member and model requests."""
from __future__ import annotations

from rest_framework import serializers

from apps.teams.models import TeamMembership
from apps.teams.serializers.fields import (DurationField, MembersField, MoneyField, StrictSerializer, UserRefSerializer,
                                           flag, ident, int_map, limit_type, mapping, names, object_permission,
                                           optional_int, text, vector_store_indexes)

TEAM_ROLES = [c.value for c in TeamMembership.Role]


class MemberSerializer(UserRefSerializer):
    """LiteLLM's Member: a user by id or email, and a team role."""

    role = serializers.ChoiceField(choices=TEAM_ROLES, default="user")


class TeamFields(StrictSerializer):
    """Fields NewTeamRequest and UpdateTeamRequest share."""

    team_alias = text()
    organization_id = ident()
    metadata = mapping()
    tpm_limit = optional_int()
    rpm_limit = optional_int()
    max_parallel_requests = optional_int()
    max_budget = MoneyField()
    soft_budget = MoneyField()
    budget_duration = DurationField()
    models = names()
    blocked = flag()
    router_settings = mapping()
    model_aliases = mapping()
    tags = names()
    guardrails = names()
    policies = names()
    prompts = names()
    object_permission = object_permission()
    allowed_passthrough_routes = names()
    secret_manager_settings = mapping()
    model_rpm_limit = int_map()
    model_tpm_limit = int_map()
    team_member_budget = MoneyField()
    team_member_rpm_limit = optional_int()
    team_member_tpm_limit = optional_int()
    team_member_key_duration = DurationField()
    allowed_vector_store_indexes = vector_store_indexes()
    team_member_permissions = names()


class TeamNewSerializer(TeamFields):
    team_id = ident()
    admins = names()
    members = names()
    members_with_roles = MemberSerializer(many=True, required=False)
    rpm_limit_type = limit_type()
    tpm_limit_type = limit_type()
    team_member_budget_duration = DurationField()  # LiteLLM 1.110's NewTeamRequest has it (as /team/update does)


class TeamUpdateSerializer(TeamFields):
    team_id = serializers.CharField()
    spend = MoneyField()
    team_member_budget_duration = DurationField()


class TeamIdSerializer(StrictSerializer):
    team_id = serializers.CharField()


class TeamDeleteSerializer(StrictSerializer):
    team_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class TeamModelsSerializer(StrictSerializer):
    team_id = serializers.CharField()
    models = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class TeamMemberAddSerializer(StrictSerializer):
    team_id = serializers.CharField()
    member = MembersField(MemberSerializer)
    max_budget_in_team = MoneyField()


class TeamMemberDeleteSerializer(UserRefSerializer):
    team_id = serializers.CharField()


class TeamMemberUpdateSerializer(TeamMemberDeleteSerializer):
    max_budget_in_team = MoneyField()
    role = serializers.ChoiceField(choices=TEAM_ROLES, required=False, allow_null=True)
    tpm_limit = optional_int()
    rpm_limit = optional_int()


class TeamListSerializer(StrictSerializer):
    """/team/list query string."""

    user_id = serializers.CharField(required=False)
    organization_id = serializers.CharField(required=False)
