"""`GET /routes`: every API route the gateway serves, in LiteLLM's shape (`{"routes": [{path, methods, name,
endpoint}]}`), read from the URL map (the admin's pages and its static files left out).

The ninja API's methods are read from its PathView, found in the closure of the view ninja registers
(django-ninja >= 1.3 builds it in `PathView.get_view`); tests/core/test_routes.py fails if that moves.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any, TypedDict

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from ninja.operation import PathView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.teams.permissions import IsCaller

CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
LEFT_OUT = ("admin/", "static/")
NO_METHODS = frozenset({"OPTIONS", "HEAD"})


class RouteInfo(TypedDict):
    path: str
    methods: list[str]
    name: str | None
    endpoint: str | None


def _path_view(callback: Any) -> PathView | None:
    for cell in getattr(callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def route_info(route: str, pattern: URLPattern) -> RouteInfo:
    """One route: its path with `{param}` placeholders, its methods, URL name and view name."""
    callback = pattern.callback
    path = "/" + CONVERTER.sub(r"{\1}", route)
    view_class = getattr(callback, "cls", None)
    if view_class is not None:  # a DRF view
        methods = sorted(m.upper() for m in view_class.http_method_names
                         if hasattr(view_class, m) and m.upper() not in NO_METHODS)
        return {"path": path, "methods": methods, "name": pattern.name, "endpoint": view_class.__name__}
    path_view = _path_view(callback)
    if path_view is not None:
        methods = sorted({m for op in path_view.operations for m in op.methods})
        return {"path": path, "methods": methods, "name": pattern.name,
                "endpoint": path_view.operations[0].view_func.__name__}
    return {"path": path, "methods": ["GET"], "name": pattern.name, "endpoint": getattr(callback, "__name__", None)}


def _walk(patterns: list[Any], prefix: str) -> Iterator[RouteInfo]:
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # regex routes: the admin's static files
        route = prefix + str(entry.pattern)
        if route.startswith(LEFT_OUT):
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route_info(route, entry)


@cache
def served_routes() -> list[RouteInfo]:
    """Every served route (the URL map never changes while serving)."""
    return list(_walk(get_resolver().url_patterns, ""))


class RouteList(APIView):
    """`GET /routes`: any valid key."""

    permission_classes = [IsCaller]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"routes": served_routes()})
