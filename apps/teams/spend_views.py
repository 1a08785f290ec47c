"""Spend and activity views (DRF) at LiteLLM's paths: parse the query string, call one read, answer."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.teams import activity, global_spend, reports, spend_report
from apps.teams import spend_queries as queries
from apps.teams.permissions import IsCaller

Read = Callable[..., Any]


class QuerySchema(AutoSchema):
    """The view's query serializer as its OpenAPI query parameters."""

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), type(self.view).query_class]  # type: ignore[attr-defined]


class SpendRead(GenericAPIView):  # type: ignore[type-arg]
    """GET: validate the query string with `query_class`, answer `read(caller, query)`."""

    query_class: type[serializers.Serializer] = queries.WindowQuery  # type: ignore[type-arg]
    read: Read
    permission_classes = [IsCaller]
    schema = QuerySchema()

    def get_serializer_class(self) -> type[serializers.Serializer]:  # type: ignore[type-arg]
        return type(self).query_class

    def query(self, request: Request) -> dict[str, Any]:
        query = type(self).query_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response | HttpResponse:
        return Response(type(self).read(request.user, self.query(request)))


class CsvSpendRead(SpendRead):
    """`format=csv` answers the rows as text/csv."""

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response | HttpResponse:
        query = self.query(request)
        rows = type(self).read(request.user, query)
        if query["format"] == "csv":
            return HttpResponse(reports.as_csv(rows), content_type="text/csv; charset=utf-8")
        return Response(rows)


class SpendLogs(CsvSpendRead):
    query_class = queries.SpendLogsQuery
    read = staticmethod(reports.spend_logs)


class SpendLogsPage(SpendRead):
    query_class = queries.SpendLogsPageQuery
    read = staticmethod(reports.spend_logs_page)


class SpendReport(CsvSpendRead):
    query_class = queries.ReportQuery
    read = staticmethod(spend_report.spend_report)


class SpendTags(SpendRead):
    read = staticmethod(global_spend.spend_tags)


class GlobalSpend(SpendRead):
    read = staticmethod(global_spend.global_spend)


class GlobalSpendLogs(SpendRead):
    query_class = queries.KeyQuery
    read = staticmethod(global_spend.global_spend_logs)


class GlobalSpendKeys(SpendRead):
    query_class = queries.TopQuery
    read = staticmethod(global_spend.global_spend_keys)


class GlobalSpendModels(SpendRead):
    query_class = queries.TopQuery
    read = staticmethod(global_spend.global_spend_models)


class GlobalSpendTeams(SpendRead):
    read = staticmethod(global_spend.global_spend_teams)


class GlobalSpendProvider(SpendRead):
    query_class = queries.BoundedWindowQuery
    read = staticmethod(global_spend.global_spend_provider)


class GlobalSpendTags(SpendRead):
    query_class = queries.TagsQuery
    read = staticmethod(global_spend.global_spend_tags)


class GlobalSpendTagNames(SpendRead):
    read = staticmethod(global_spend.global_spend_all_tag_names)


class GlobalActivity(SpendRead):
    query_class = queries.BoundedWindowQuery
    read = staticmethod(global_spend.global_activity)


class GlobalActivityModel(SpendRead):
    query_class = queries.BoundedWindowQuery
    read = staticmethod(global_spend.global_activity_model)


class UserDailyActivity(SpendRead):
    query_class = queries.ActivityQuery
    read = staticmethod(activity.user_daily_activity)


class TeamDailyActivity(SpendRead):
    query_class = queries.TeamActivityQuery
    read = staticmethod(activity.team_daily_activity)


class TagDailyActivity(SpendRead):
    query_class = queries.TagActivityQuery
    read = staticmethod(activity.tag_daily_activity)
