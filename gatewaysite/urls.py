"""URL map: the admin, the management API, and the OpenAI-compatible API (everything else)."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from apps.core.errors import InternalError, NotFound
from apps.routing.responses import error_response
from gatewaysite.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apps.teams.urls")),  # the management API (DRF); before the ninja API, which stays last
    path("", api.urls),
]


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(NotFound(f"Unknown path {request.method} {request.path}."))


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(InternalError("The gateway hit an internal error."))


handler404 = not_found
handler500 = server_error
