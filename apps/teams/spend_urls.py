"""Spend and activity endpoints at LiteLLM's paths (part of the management API and its OpenAPI schema)."""
from __future__ import annotations

from django.urls import path

from apps.teams import spend_views as views

urlpatterns = [
    path("spend/logs", views.SpendLogs.as_view()),
    path("spend/logs/v2", views.SpendLogsPage.as_view()),
    path("spend/tags", views.SpendTags.as_view()),
    path("global/spend", views.GlobalSpend.as_view()),
    path("global/spend/logs", views.GlobalSpendLogs.as_view()),
    path("global/spend/keys", views.GlobalSpendKeys.as_view()),
    path("global/spend/models", views.GlobalSpendModels.as_view()),
    path("global/spend/teams", views.GlobalSpendTeams.as_view()),
    path("global/spend/provider", views.GlobalSpendProvider.as_view()),
    path("global/spend/tags", views.GlobalSpendTags.as_view()),
    path("global/spend/all_tag_names", views.GlobalSpendTagNames.as_view()),
    path("global/spend/report", views.SpendReport.as_view()),
    path("global/activity", views.GlobalActivity.as_view()),
    path("global/activity/model", views.GlobalActivityModel.as_view()),
    path("user/daily/activity", views.UserDailyActivity.as_view()),
    path("team/daily/activity", views.TeamDailyActivity.as_view()),
    path("tag/daily/activity", views.TagDailyActivity.as_view()),
]
