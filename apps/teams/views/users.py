"""/user/* and /organization/* views."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.teams import serializers as body
from apps.teams.permissions import IsAdminOrOrgAdmin, IsProxyAdmin, ReadsOrganizations
from apps.teams.selectors import Caller
from apps.teams.use_cases import organizations, users
from apps.teams.views.base import Delete, Lookup, Patch, Post, Query


class UserNew(Post):
    serializer_class = body.UserNewSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return users.user_new(caller=caller, body=data)


class UserUpdate(Post):
    serializer_class = body.UserUpdateSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return users.user_update(caller=caller, body=data)


class UserDelete(Post):
    serializer_class = body.UserDeleteSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return users.user_delete(caller=caller, body=data)


class UserInfo(Lookup):
    param = "user_id"
    required = False

    def run(self, caller: Caller, value: str | None) -> Any:
        return users.user_info(caller=caller, user_id=value)


class UserList(Query):
    serializer_class = body.UserListSerializer

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        return users.user_list(caller=caller, query=query)


class OrganizationNew(Post):
    serializer_class = body.OrganizationNewSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return organizations.organization_new(caller=caller, body=data)


class OrganizationUpdate(Patch):
    serializer_class = body.OrganizationUpdateSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return organizations.organization_update(caller=caller, body=data)


class OrganizationDelete(Delete):
    serializer_class = body.OrganizationDeleteSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return organizations.organization_delete(caller=caller, body=data)


class OrganizationInfo(Lookup):
    param = "organization_id"
    permission_classes = [ReadsOrganizations]

    def run(self, caller: Caller, value: str | None) -> Any:
        return organizations.organization_info(caller=caller, organization_id=value or "")


class OrganizationList(Query):
    serializer_class = body.OrganizationListSerializer
    permission_classes = [ReadsOrganizations]

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        return organizations.organization_list(caller=caller, query=query)


class OrganizationMemberAdd(Post):
    serializer_class = body.OrganizationMemberAddSerializer
    permission_classes = [IsAdminOrOrgAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return organizations.organization_member_add(caller=caller, body=data)


class OrganizationMemberUpdate(Patch):
    serializer_class = body.OrganizationMemberUpdateSerializer
    permission_classes = [IsAdminOrOrgAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return organizations.organization_member_update(caller=caller, body=data)


class OrganizationMemberDelete(Delete):
    serializer_class = body.OrganizationMemberDeleteSerializer
    permission_classes = [IsAdminOrOrgAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return organizations.organization_member_delete(caller=caller, body=data)
