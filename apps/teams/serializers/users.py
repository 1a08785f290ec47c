"""User and organization bodies: LiteLLM's NewUserRequest, UpdateUserRequest, organization requests."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.teams.models import OrganizationMembership, User
from apps.teams.serializers.fields import (GenerateFields, LimitFields, MembersField, MoneyField, StrictSerializer,
                                           UserRefSerializer, flag, ident, page_number, text)
from apps.teams.serializers.teams import TEAM_ROLES

USER_ROLES = [c.value for c in User.Role]
ORG_ROLES = [c.value for c in OrganizationMembership.Role]


class UserTeamSerializer(StrictSerializer):
    """One entry of NewUserRequest.teams given as an object."""

    team_id = serializers.CharField()
    max_budget_in_team = MoneyField()
    user_role = serializers.ChoiceField(choices=TEAM_ROLES, default="user")


class UserTeamsField(serializers.ListField):
    """`teams`: team ids, or {team_id, max_budget_in_team, user_role} objects."""

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        items = super().to_internal_value(data)
        entries = [item if isinstance(item, dict) else {"team_id": str(item)} for item in items]
        teams = UserTeamSerializer(data=entries, many=True)
        teams.is_valid(raise_exception=True)
        return list(teams.validated_data)


class UserFields(GenerateFields):
    user_email = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
    user_alias = text()
    user_role = serializers.ChoiceField(choices=USER_ROLES, required=False, allow_null=True)


class UserNewSerializer(UserFields):
    user_id = serializers.RegexField(r"^[\w.@+\-]{1,150}$", required=False, allow_null=True)
    teams = UserTeamsField(required=False, allow_null=True)
    auto_create_key = serializers.BooleanField(default=True)
    send_invite_email = flag()
    sso_user_id = ident()
    organizations = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    password = serializers.CharField(required=False, allow_null=True, write_only=True)  # LiteLLM 1.110's


class UserUpdateSerializer(UserFields):
    user_id = serializers.CharField(required=False, allow_null=True)
    password = serializers.CharField(required=False, allow_null=True, write_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_id") and not attrs.get("user_email"):
            raise serializers.ValidationError({"user_id": ["Give `user_id` or `user_email`."]})
        return attrs


class UserDeleteSerializer(StrictSerializer):
    user_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)


USER_SORT = ["user_id", "user_email", "created_at", "spend", "user_alias", "user_role"]


class UserListSerializer(StrictSerializer):
    """/user/list query string (user_ids and sso_user_ids comma-separated, as LiteLLM's)."""

    role = serializers.ChoiceField(choices=USER_ROLES, required=False)
    user_ids = serializers.CharField(required=False)
    sso_user_ids = serializers.CharField(required=False)
    user_email = serializers.CharField(required=False)
    team = serializers.CharField(required=False)
    page = page_number()
    page_size = serializers.IntegerField(default=25, min_value=1, max_value=100)
    sort_by = serializers.ChoiceField(choices=USER_SORT, required=False)
    sort_order = serializers.ChoiceField(choices=["asc", "desc"], default="asc")


class OrganizationNewSerializer(LimitFields):
    organization_id = ident()
    organization_alias = serializers.CharField(max_length=200)
    budget_id = ident()


class OrganizationUpdateSerializer(LimitFields):
    organization_id = serializers.CharField()
    organization_alias = text()
    budget_id = ident()
    spend = MoneyField()
    updated_by = text()


class OrganizationDeleteSerializer(StrictSerializer):
    organization_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class OrganizationListSerializer(StrictSerializer):
    org_id = serializers.CharField(required=False)
    org_alias = serializers.CharField(required=False)


class OrgMemberSerializer(UserRefSerializer):
    role = serializers.ChoiceField(choices=ORG_ROLES)


class OrganizationMemberAddSerializer(StrictSerializer):
    organization_id = serializers.CharField()
    member = MembersField(OrgMemberSerializer)
    max_budget_in_organization = MoneyField()


class OrganizationMemberDeleteSerializer(UserRefSerializer):
    organization_id = serializers.CharField()


class OrganizationMemberUpdateSerializer(OrganizationMemberDeleteSerializer):
    max_budget_in_organization = MoneyField()
    role = serializers.ChoiceField(choices=ORG_ROLES, required=False, allow_null=True)
