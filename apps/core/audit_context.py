"""Who is making a change, for the audit log: set once per admin, portal or management request.

The middleware opens a scope for each request on Django's full stack (never the `/v1` lean handler); the
management API's authentication names the key it authenticated (`scope_caller_set`), and the audit receivers
read the scope when a row is saved or deleted. Outside a request (Celery, management commands) there is no
scope, and nothing is audited: only people's changes are.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.utils.decorators import sync_and_async_middleware


class AuditScope:
    """The request a change is made in: who (a logged-in user or an API key) and through what."""

    __slots__ = ("request", "caller", "request_id")

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.caller: str | None = None  # set by the management API's authentication
        self.request_id = request.headers.get("x-request-id", "")[:100]

    @property
    def actor(self) -> str:
        """`user:<name>`, `key:<sha256>`, `master key`, or "" when nobody is known."""
        if self.caller is not None:
            return self.caller
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.get_username()}"
        return ""

    @property
    def via(self) -> str:
        """admin, portal, dashboard or api, from the path the request came in on."""
        path = self.request.path_info
        for area in ("admin", "portal", "dashboard", "accounts", "oidc"):
            if path.startswith(f"/{area}/"):
                return "portal" if area in ("accounts", "oidc") else area
        return "api"


_scope: contextvars.ContextVar[AuditScope | None] = contextvars.ContextVar("tollgate_audit_scope", default=None)


def audit_scope() -> AuditScope | None:
    """The scope of the request being served, or None outside one."""
    return _scope.get()


def scope_caller_set(caller: str) -> None:
    """Name the API caller of the current request (`key:<sha256>` or `master key`)."""
    scope = _scope.get()
    if scope is not None:
        scope.caller = caller


@contextmanager
def audit_scope_opened(request: HttpRequest, *, caller: str) -> Iterator[AuditScope]:
    """A scope for a change made on the lean API stack (no middleware there), e.g. `/v1/agents` writes."""
    scope = AuditScope(request)
    scope.caller = caller
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@sync_and_async_middleware
def AuditActorMiddleware(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """Opens an audit scope around each request and closes it after, so no request sees another's."""
    if iscoroutinefunction(get_response):
        async def middleware_async(request: HttpRequest) -> Any:
            token = _scope.set(AuditScope(request))
            try:
                return await get_response(request)
            finally:
                _scope.reset(token)
        return middleware_async

    def middleware(request: HttpRequest) -> Any:
        token = _scope.set(AuditScope(request))
        try:
            return get_response(request)
        finally:
            _scope.reset(token)
    return middleware
