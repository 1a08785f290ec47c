"""URL map: the admin, the dashboard, the portal and logins, the management API, and the OpenAI-compatible API
(everything else)."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import include, path, re_path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView

from apps.core.errors import InternalError, NotFound
from apps.core.http import request_id
from apps.core.responses import error_response
from apps.routing.metrics_view import metrics
from gatewaysite.api import api
from gatewaysite.routes import RouteList

def admin_asset(request: HttpRequest, path: str) -> HttpResponseBase:
    """The admin's CSS and JS, found in the installed apps (no collectstatic step, no extra server)."""
    response = serve_static(request, path, insecure=True)
    response["Cache-Control"] = "public, max-age=86400"
    return response


# The management API's schema covers its keys, teams and users, its spend reads and model management.
SCHEMA_URLCONFS = ["apps.teams.urls", "apps.teams.spend_urls", "apps.routing.urls"]

admin.site.site_header = admin.site.site_title = "Tollgate admin"
admin.site.site_url = reverse_lazy("portal:home")  # type: ignore[assignment]  # "View site": the portal, prefixed

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home"), name="home"),
    re_path(r"^static/(?P<path>.+)$", admin_asset),
    # One login page for the admin, the dashboard and the portal (the admin's own sends its ?next= along).
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("dashboard/", include("gatewaysite.dashboard.urls")),
    path("accounts/", include("apps.portal.auth_urls")),  # one login, logout and password reset for every page
    path("portal/", include("apps.portal.urls")),
    path("management/openapi.json", SpectacularJSONAPIView.as_view(urlconf=SCHEMA_URLCONFS, permission_classes=[],
                                                               authentication_classes=[]), name="management-schema"),
    path("", include("apps.teams.urls")),  # the management API (DRF); before the ninja API, which stays last
    path("", include("apps.teams.spend_urls")),  # its spend and activity reads
    path("", include("apps.routing.urls")),  # model management (DRF)
    path("routes", RouteList.as_view()),
    path("metrics", metrics),
    path("", include("apps.agents.urls")),  # /v1/agents and /a2a/ (served by the lean handler; listed for /routes)
    path("", api.urls),
]


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(NotFound(f"Unknown path {request.method} {request.path}."),
                          headers={"x-request-id": request_id(request)})


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(InternalError("The gateway hit an internal error."),
                          headers={"x-request-id": request_id(request)})


handler404 = not_found
handler500 = server_error
