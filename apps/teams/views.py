"""Management API views (Django REST framework): parse, call one use case, answer. LiteLLM's paths."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.teams import management
from apps.teams import serializers as body
from apps.teams.permissions import IsCaller, IsProxyAdmin

UseCase = Callable[..., Any]


class Action(GenericAPIView):  # type: ignore[type-arg]
    """POST a validated body to one use case."""

    use_case: UseCase

    def post(self, request: Request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(type(self).use_case(request.user, data.validated_data))


def action(name: str, use_case: UseCase, serializer: type[serializers.Serializer],  # type: ignore[type-arg]
           *, admin: bool = False) -> type[Action]:
    """An Action view class for one endpoint."""
    return type(name, (Action,), {"use_case": staticmethod(use_case), "serializer_class": serializer,
                                  "permission_classes": [IsProxyAdmin] if admin else [IsCaller]})


class KeyBlock(GenericAPIView):  # type: ignore[type-arg]
    serializer_class = body.KeyRefSerializer
    blocked = True

    def post(self, request: Request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(management.key_block(request.user, data.validated_data["key"], blocked=self.blocked))


class KeyUnblock(KeyBlock):
    blocked = False


def lookup(name: str, use_case: UseCase, param: str,
           *, admin: bool = False) -> type[GenericAPIView]:  # type: ignore[type-arg]
    """A GET view answering `use_case(caller, ?param=...)`."""

    @extend_schema(parameters=[OpenApiParameter(param, str, required=True)], responses=dict)
    def get(self: GenericAPIView, request: Request) -> Response:  # type: ignore[type-arg]
        value = request.query_params.get(param)
        if not value:
            raise serializers.ValidationError({param: ["This query parameter is required."]})
        return Response(use_case(request.user, value))

    return type(name, (GenericAPIView,), {"get": get, "permission_classes": [IsProxyAdmin if admin else IsCaller],
                                          "serializer_class": body.KeyRefSerializer})


class KeyList(GenericAPIView):  # type: ignore[type-arg]
    serializer_class = body.KeyRefSerializer

    @extend_schema(parameters=[OpenApiParameter(p, str) for p in ("user_id", "team_id", "key_alias", "page", "size",
                                                                   "return_full_object")], responses=dict)
    def get(self, request: Request) -> Response:
        return Response(management.key_list(request.user, request.query_params))


class TeamList(GenericAPIView):  # type: ignore[type-arg]
    serializer_class = body.KeyRefSerializer

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        return Response(management.team_list(request.user))


KeyGenerate = action("KeyGenerate", management.key_generate, body.KeyGenerateSerializer)
KeyUpdate = action("KeyUpdate", management.key_update, body.KeyUpdateSerializer)
KeyRegenerate = action("KeyRegenerate", management.key_regenerate, body.KeyRegenerateSerializer)
KeyDelete = action("KeyDelete", management.key_delete, body.KeyDeleteSerializer)
KeyInfo = lookup("KeyInfo", management.key_info, "key")
TeamNew = action("TeamNew", management.team_new, body.TeamNewSerializer, admin=True)
TeamUpdate = action("TeamUpdate", management.team_update, body.TeamUpdateSerializer, admin=True)
TeamDelete = action("TeamDelete", management.team_delete, body.TeamDeleteSerializer, admin=True)
TeamInfo = lookup("TeamInfo", management.team_info, "team_id")
TeamMemberAdd = action("TeamMemberAdd", management.member_add, body.TeamMemberAddSerializer)
TeamMemberDelete = action("TeamMemberDelete", management.member_delete, body.TeamMemberDeleteSerializer)
UserNew = action("UserNew", management.user_new, body.UserNewSerializer, admin=True)
UserUpdate = action("UserUpdate", management.user_update, body.UserUpdateSerializer, admin=True)
UserDelete = action("UserDelete", management.user_delete, body.UserDeleteSerializer, admin=True)
UserInfo = lookup("UserInfo", management.user_info, "user_id")
OrganizationNew = action("OrganizationNew", management.organization_new, body.OrganizationNewSerializer, admin=True)
OrganizationInfo = lookup("OrganizationInfo", management.organization_info, "organization_id", admin=True)
