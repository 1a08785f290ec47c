"""/key/* views."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from apps.teams import serializers as body
from apps.teams.selectors import Caller
from apps.teams.use_cases import keys
from apps.teams.views.base import Lookup, Post, Query


class KeyGenerate(Post):
    serializer_class = body.KeyGenerateSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return keys.key_generate(caller=caller, body=data)


class KeyUpdate(Post):
    serializer_class = body.KeyUpdateSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return keys.key_update(caller=caller, body=data)


class KeyRegenerate(Post):
    """/key/regenerate, and /key/{key}/regenerate with the key in the path."""

    serializer_class = body.KeyRegenerateSerializer

    def post(self, request: Request, key: str | None = None) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(keys.key_regenerate(caller=request.user, body=data.validated_data, ref=key))  # type: ignore[arg-type]


class KeyDelete(Post):
    serializer_class = body.KeyDeleteSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return keys.key_delete(caller=caller, body=data)


class KeyBlock(Post):
    serializer_class = body.KeyRefSerializer
    blocked = True

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return keys.key_block(caller=caller, body=data, blocked=self.blocked)


class KeyUnblock(KeyBlock):
    blocked = False


class KeyInfo(Lookup):
    param = "key"
    required = False

    def run(self, caller: Caller, value: str | None) -> Any:
        return keys.key_info(caller=caller, ref=value)


class KeyList(Query):
    serializer_class = body.KeyListSerializer

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        return keys.key_list(caller=caller, query=query)
