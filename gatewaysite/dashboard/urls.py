"""/dashboard/ routes (names under the `dashboard` namespace; every link is reversed, so a path prefix works)."""
from __future__ import annotations

from django.urls import path

from gatewaysite.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("keys/", views.keys, name="keys"),
    path("export/<slug:table>.csv", views.export, name="export"),
    path("why/", views.why, name="why"),
]
