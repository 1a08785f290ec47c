from __future__ import annotations

from django.urls import path

from apps.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("keys/new/", views.key_new, name="key_new"),
    path("keys/<int:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path("models/", views.models, name="models"),
    path("playground/", views.playground, name="playground"),
]
