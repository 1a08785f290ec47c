"""URL map for the lean API handler: only the ninja API, so /v1 paths do not walk the admin and management routes.

Resolving /v1/chat/completions against the full map tried every management API pattern first (about
0.05 ms per call); the lean handler (apps.core.asgi_lean) serves only the API prefixes, which all live here.
"""
from __future__ import annotations

from django.urls import include, path

from gatewaysite.api import api
from gatewaysite.urls import not_found, server_error

urlpatterns = [path("", include("apps.agents.urls")), path("", api.urls)]

handler404 = not_found
handler500 = server_error
