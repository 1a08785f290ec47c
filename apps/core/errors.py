"""The one error family every layer raises; rendered as OpenAI's error shape."""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class GatewayError(Exception):
    """An error a client sees as `{"error": {"message", "type", "param", "code"}}`."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "api_error"
    code: ClassVar[str | None] = None

    def __init__(self, message: str, *, param: str | None = None, headers: Mapping[str, str] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = dict(headers or {})
        self.instance_code = code

    @property
    def error_code(self) -> str | None:
        return self.instance_code if self.instance_code is not None else self.code

    def payload(self) -> dict[str, dict[str, str | None]]:
        """The JSON body for this error."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.error_code}}


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class AuthenticationFailed(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class Overloaded(GatewayError):
    status = 503
    type = "api_error"
    code = "overloaded"


class StateUnavailable(GatewayError):
    """The state backend (Redis) cannot be reached: limits and budgets cannot be checked, so calls wait."""

    status = 503
    type = "api_error"
    code = "state_backend_unavailable"


class InternalError(GatewayError):
    status = 500
    type = "api_error"
    code = "internal_error"
