"""The management API at LiteLLM's paths (its OpenAPI schema, which covers routing's model management too, is
served by the site's URL conf)."""
from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.generics import GenericAPIView

from apps.teams.views import base, budgets, keys, teams, users

# LiteLLM serves its end-user endpoints under both names.
END_USER_VIEWS: dict[str, type[GenericAPIView]] = {  # type: ignore[type-arg]
    "new": budgets.EndUserNew, "info": budgets.EndUserInfo, "update": budgets.EndUserUpdate,
    "delete": budgets.EndUserDelete, "list": budgets.EndUserList, "block": budgets.EndUserBlock,
    "unblock": budgets.EndUserUnblock}


def end_user_paths() -> list[URLPattern]:
    return [path(f"{prefix}/{action}", view.as_view()) for prefix in ("end_user", "customer")
            for action, view in END_USER_VIEWS.items()]


urlpatterns = [
    path("key/generate", keys.KeyGenerate.as_view()),
    path("key/update", keys.KeyUpdate.as_view()),
    path("key/info", keys.KeyInfo.as_view()),
    path("key/list", keys.KeyList.as_view()),
    path("key/delete", keys.KeyDelete.as_view()),
    path("key/block", keys.KeyBlock.as_view()),
    path("key/unblock", keys.KeyUnblock.as_view()),
    path("key/regenerate", keys.KeyRegenerate.as_view()),
    path("key/<str:key>/regenerate", keys.KeyRegenerate.as_view()),
    path("team/new", teams.TeamNew.as_view()),
    path("team/update", teams.TeamUpdate.as_view()),
    path("team/info", teams.TeamInfo.as_view()),
    path("team/list", teams.TeamList.as_view()),
    path("team/delete", teams.TeamDelete.as_view()),
    path("team/block", teams.TeamBlock.as_view()),
    path("team/unblock", teams.TeamUnblock.as_view()),
    path("team/model/add", teams.TeamModelAdd.as_view()),
    path("team/model/delete", teams.TeamModelDelete.as_view()),
    path("team/member_add", teams.TeamMemberAdd.as_view()),
    path("team/member_update", teams.TeamMemberUpdate.as_view()),
    path("team/member_delete", teams.TeamMemberDelete.as_view()),
    path("user/new", users.UserNew.as_view()),
    path("user/info", users.UserInfo.as_view()),
    path("user/update", users.UserUpdate.as_view()),
    path("user/delete", users.UserDelete.as_view()),
    path("user/list", users.UserList.as_view()),
    path("organization/new", users.OrganizationNew.as_view()),
    path("organization/info", users.OrganizationInfo.as_view()),
    path("organization/update", users.OrganizationUpdate.as_view()),
    path("organization/delete", users.OrganizationDelete.as_view()),
    path("organization/list", users.OrganizationList.as_view()),
    path("organization/member_add", users.OrganizationMemberAdd.as_view()),
    path("organization/member_update", users.OrganizationMemberUpdate.as_view()),
    path("organization/member_delete", users.OrganizationMemberDelete.as_view()),
    path("budget/new", budgets.BudgetNew.as_view()),
    path("budget/update", budgets.BudgetUpdate.as_view()),
    path("budget/info", budgets.BudgetInfo.as_view()),
    path("budget/delete", budgets.BudgetDelete.as_view()),
    path("budget/list", budgets.BudgetList.as_view()),
    path("budget/settings", budgets.BudgetSettings.as_view()),
    *end_user_paths(),
]
