"""Outside the web pages (admin, dashboard), an HTML error page from Django or ninja (405, 400) becomes OpenAI's JSON error shape."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.errors import GatewayError, InvalidRequest, NotFound
from apps.core.http import request_id
from apps.core.responses import error_response

HTML_ERRORS: dict[int, type[GatewayError]] = {400: InvalidRequest, 404: NotFound}


class MethodNotAllowed(GatewayError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


def as_json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The response itself, or a JSON error in its place when it is an HTML error page off the admin."""
    if response.status_code < 400 or request.path_info.startswith(settings.TOLLGATE_HTML_PATH_PREFIXES):
        return response
    if not response.get("Content-Type", "").startswith("text/html"):
        return response
    error: GatewayError
    if response.status_code == 405:
        error = MethodNotAllowed(f"Method {request.method} is not allowed on {request.path}.",
                                 headers={"Allow": response.get("Allow", "")})
    else:
        error = HTML_ERRORS.get(response.status_code, InvalidRequest)(f"Request failed with {response.status_code}.")
    return error_response(error, headers={"x-request-id": request_id(request)})


class JsonErrorsMiddleware:
    """Async-capable so the /v1 path takes no thread hop through it."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        return as_json_error(request, self.get_response(request))  # type: ignore[arg-type]

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        response = await self.get_response(request)  # type: ignore[misc]
        return as_json_error(request, response)
