"""DRF plumbing for the management API: API-key authentication, role permissions, OpenAI-shaped errors."""
from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.audit_context import scope_caller_set
from apps.core.errors import AuthenticationFailed, GatewayError, InvalidRequest, NotFound, PermissionDenied
from apps.core.middleware import MethodNotAllowed
from apps.teams.auth import check_route, hash_key, key_from_meta
from apps.teams.routes import compile_routes
from apps.teams.master_key import master_key
from apps.teams.selectors import ROOT, Caller, caller_for_key

if TYPE_CHECKING:
    from rest_framework.views import APIView


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <master key or virtual key>` -> a Caller (request.user)."""

    def authenticate(self, request: Request) -> tuple[Caller, None] | None:
        raw = key_from_meta(request.META)
        if raw is None:
            return None
        if hmac.compare_digest(raw.encode(), master_key().encode()):
            scope_caller_set("master key")
            return ROOT, None
        caller = caller_for_key(raw)
        if caller is None:
            raise exceptions.AuthenticationFailed("Invalid, blocked or expired API key.")
        scope_caller_set(f"key:{hash_key(raw)}" + (f" (user:{caller.user_id})" if caller.user_id else ""))
        routes = compile_routes(caller.allowed_routes)
        if routes is not None:
            check_route(routes, request.META)
        return caller, None

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class IsCaller(permissions.BasePermission):
    """Any valid key; viewer roles may only read."""

    message = "This key's role may only read."

    def has_permission(self, request: Request, view: APIView) -> bool:
        caller = request.user
        if not isinstance(caller, Caller):
            return False
        return request.method in permissions.SAFE_METHODS or not caller.read_only


class IsProxyAdmin(permissions.BasePermission):
    """The master key, or a key of a `proxy_admin` user."""

    message = "Only a proxy admin (the master key or a proxy_admin user's key) can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, Caller) and request.user.is_admin


class IsAdminOrOrgAdmin(permissions.BasePermission):
    """Proxy admins, and org admins (the use case keeps them to their organizations)."""

    message = "Only a proxy admin or an org admin can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        caller = request.user
        return isinstance(caller, Caller) and (caller.is_admin or (bool(caller.org_admin_ids) and not caller.read_only))


class ReadsOrganizations(permissions.BasePermission):
    """Proxy admins and viewers (every organization), and org admins (their own)."""

    message = "Only a proxy admin, proxy admin viewer or org admin can read organizations."

    def has_permission(self, request: Request, view: APIView) -> bool:
        caller = request.user
        return isinstance(caller, Caller) and (caller.reads_all or bool(caller.org_admin_ids))


class ReadsAll(permissions.BasePermission):
    """Proxy admins and proxy admin viewers."""

    message = "Only a proxy admin or proxy admin viewer can read this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, Caller) and request.user.reads_all


def first_error(detail: Any, path: str = "") -> tuple[str, str]:
    """(field path, message) of the first validation error in DRF's nested detail."""
    if isinstance(detail, list):
        detail = [item for item in detail if item] or detail
    if isinstance(detail, dict) and detail:
        name, value = next(iter(detail.items()))
        field = name if name != "non_field_errors" else ""
        return first_error(value, f"{path}.{field}" if path and field else (field or path))
    if isinstance(detail, list) and detail:
        return first_error(detail[0], path)
    return path, str(detail)


def as_gateway_error(exc: Exception) -> GatewayError | None:
    """Our error for a DRF exception."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, exceptions.ValidationError):
        field, message = first_error(exc.detail)
        return InvalidRequest(f"{field}: {message}" if field else message, param=field or None,
                              code="invalid_value")
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return AuthenticationFailed(str(exc.detail))
    if isinstance(exc, exceptions.PermissionDenied):
        return PermissionDenied(str(exc.detail))
    if isinstance(exc, exceptions.NotFound):
        return NotFound(str(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return InvalidRequest(str(exc.detail), code="invalid_json")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return MethodNotAllowed(str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        return InvalidRequest(str(exc.detail), code=str(exc.default_code))
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every management API error in the OpenAI / LiteLLM shape."""
    error = as_gateway_error(exc)
    if error is None:
        return None  # Django's 500 handler answers with InternalError's JSON
    response = Response(error.payload(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    if isinstance(error, AuthenticationFailed):
        response["WWW-Authenticate"] = "Bearer"
    return response



class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call,misc]
    """Tells the OpenAPI schema that the management API takes a bearer API key."""

    target_class = "apps.teams.permissions.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
