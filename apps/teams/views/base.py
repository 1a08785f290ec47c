"""Base classes of the management API views (Django REST framework): parse, call one use case, answer.

Every view is a plain class: `Action` subclasses validate a JSON body, `Query` subclasses a query string,
`Lookup` subclasses one query parameter; `run` calls exactly one use case.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.teams import reports
from apps.teams import serializers as body
from apps.teams.permissions import IsCaller
from apps.teams.selectors import Caller


class QuerySchema(AutoSchema):  # type: ignore[misc]
    """OpenAPI for GET views: the serializer (or the one parameter) is the query string; answers are JSON."""

    def get_override_parameters(self) -> list[Any]:
        param = getattr(self.view, "param", None)
        if param is not None:
            return [OpenApiParameter(param, str, required=getattr(self.view, "required", True))]
        query = self.view.get_serializer_class()
        return [query] if query().fields else []

    def get_request_serializer(self) -> None:
        return None

    def get_response_serializers(self) -> type[dict[str, Any]]:
        return dict


class Action(GenericAPIView):  # type: ignore[type-arg]
    """A JSON body, validated by `serializer_class`, given to `run`."""

    permission_classes: ClassVar[list[type[BasePermission]]] = [IsCaller]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def answer(self, request: Request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(self.run(request.user, data.validated_data))  # type: ignore[arg-type]


class Post(Action):
    def post(self, request: Request) -> Response:
        return self.answer(request)


class Patch(Action):
    def patch(self, request: Request) -> Response:
        return self.answer(request)


class Delete(Action):
    def delete(self, request: Request) -> Response:
        return self.answer(request)


class Query(GenericAPIView):  # type: ignore[type-arg]
    """A GET whose query string `serializer_class` validates, given to `run`."""

    permission_classes: ClassVar[list[type[BasePermission]]] = [IsCaller]
    schema = QuerySchema()

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        query = self.get_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(self.run(request.user, query.validated_data))  # type: ignore[arg-type]


class Lookup(GenericAPIView):  # type: ignore[type-arg]
    """A GET of one query parameter, `param`, given to `run` (None when optional and absent)."""

    permission_classes: ClassVar[list[type[BasePermission]]] = [IsCaller]
    serializer_class = body.KeyRefSerializer  # unused; GenericAPIView wants one for the schema
    schema = QuerySchema()
    param: ClassVar[str]
    required: ClassVar[bool] = True

    def run(self, caller: Caller, value: str | None) -> Any:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        value = request.query_params.get(self.param) or None
        if value is None and self.required:
            raise serializers.ValidationError({self.param: ["This query parameter is required."]})
        return Response(self.run(request.user, value))  # type: ignore[arg-type]


class SpendView(Query):
    """GET with the spend query string; `format=csv` answers text/csv."""

    serializer_class = body.SpendQuerySerializer

    def report(self, caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get(self, request: Request) -> Response | HttpResponse:  # type: ignore[override]
        query = self.get_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = self.report(request.user, query.validated_data)  # type: ignore[arg-type]
        if query.validated_data["format"] == "csv":
            return HttpResponse(reports.as_csv(rows), content_type="text/csv; charset=utf-8")
        return Response(rows)


class SpendLogs(SpendView):
    def report(self, caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return reports.spend_logs(caller, query)


class SpendReport(SpendView):
    def report(self, caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return reports.spend_report(caller, query)
