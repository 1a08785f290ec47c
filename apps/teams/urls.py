"""The management API at LiteLLM's paths, and its OpenAPI schema."""
from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView

from apps.teams import views

urlpatterns = [
    path("key/generate", views.KeyGenerate.as_view()),
    path("key/update", views.KeyUpdate.as_view()),
    path("key/info", views.KeyInfo.as_view()),
    path("key/list", views.KeyList.as_view()),
    path("key/delete", views.KeyDelete.as_view()),
    path("key/block", views.KeyBlock.as_view()),
    path("key/unblock", views.KeyUnblock.as_view()),
    path("key/regenerate", views.KeyRegenerate.as_view()),
    path("team/new", views.TeamNew.as_view()),
    path("team/update", views.TeamUpdate.as_view()),
    path("team/info", views.TeamInfo.as_view()),
    path("team/list", views.TeamList.as_view()),
    path("team/delete", views.TeamDelete.as_view()),
    path("team/member_add", views.TeamMemberAdd.as_view()),
    path("team/member_delete", views.TeamMemberDelete.as_view()),
    path("user/new", views.UserNew.as_view()),
    path("user/info", views.UserInfo.as_view()),
    path("user/update", views.UserUpdate.as_view()),
    path("user/delete", views.UserDelete.as_view()),
    path("organization/new", views.OrganizationNew.as_view()),
    path("organization/info", views.OrganizationInfo.as_view()),
    path("management/openapi.json", SpectacularJSONAPIView.as_view(urlconf=["apps.teams.urls", "apps.teams.spend_urls"], permission_classes=[],
                                                               authentication_classes=[]), name="management-schema"),
]
