"""/budget/* and /end_user/* (also served as /customer/*) views: proxy admins write, viewers read."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.teams import serializers as body
from apps.teams.permissions import IsProxyAdmin, ReadsAll
from apps.teams.selectors import Caller
from apps.teams.use_cases import budgets
from apps.teams.views.base import Lookup, Post, Query


class AdminPost(Post):
    permission_classes = [IsProxyAdmin]


class BudgetNew(AdminPost):
    serializer_class = body.BudgetNewSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.budget_new(caller=caller, body=data)


class BudgetUpdate(AdminPost):
    serializer_class = body.BudgetUpdateSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.budget_update(caller=caller, body=data)


class BudgetInfo(Post):
    serializer_class = body.BudgetInfoSerializer
    permission_classes = [ReadsAll]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.budget_info(caller=caller, body=data)


class BudgetDelete(AdminPost):
    serializer_class = body.BudgetDeleteSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.budget_delete(caller=caller, body=data)


class BudgetSettings(Lookup):
    param = "budget_id"
    permission_classes = [ReadsAll]

    def run(self, caller: Caller, value: str | None) -> Any:
        return budgets.budget_settings(caller=caller, budget_id=value or "")


class BudgetList(Query):
    serializer_class = body.StrictSerializer
    permission_classes = [ReadsAll]

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        return budgets.budget_list(caller=caller)


class EndUserNew(AdminPost):
    serializer_class = body.EndUserNewSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.end_user_new(caller=caller, body=data)


class EndUserUpdate(AdminPost):
    serializer_class = body.EndUserUpdateSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.end_user_update(caller=caller, body=data)


class EndUserDelete(AdminPost):
    serializer_class = body.EndUserIdsSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.end_user_delete(caller=caller, body=data)


class EndUserBlock(AdminPost):
    serializer_class = body.EndUserIdsSerializer
    blocked = True

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return budgets.end_user_block(caller=caller, body=data, blocked=self.blocked)


class EndUserUnblock(EndUserBlock):
    blocked = False


class EndUserInfo(Lookup):
    param = "end_user_id"
    permission_classes = [ReadsAll]

    def run(self, caller: Caller, value: str | None) -> Any:
        return budgets.end_user_info(caller=caller, end_user_id=value or "")


class EndUserList(Query):
    serializer_class = body.StrictSerializer
    permission_classes = [ReadsAll]

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        return budgets.end_user_list(caller=caller)
