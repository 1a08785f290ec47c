"""A2A's errors: JSON-RPC codes, the HTTP+JSON binding's status and reason, and their payloads."""
from __future__ import annotations

from typing import Any

# code -> (A2A reason, HTTP status, gRPC-style status name), spec section 5.4 and JSON-RPC 2.0.
ERRORS: dict[int, tuple[str, int, str]] = {
    -32700: ("PARSE_ERROR", 400, "INVALID_ARGUMENT"),
    -32600: ("INVALID_REQUEST", 400, "INVALID_ARGUMENT"),
    -32601: ("METHOD_NOT_FOUND", 404, "NOT_FOUND"),
    -32602: ("INVALID_PARAMS", 400, "INVALID_ARGUMENT"),
    -32603: ("INTERNAL", 500, "INTERNAL"),
    -32001: ("TASK_NOT_FOUND", 404, "NOT_FOUND"),
    -32002: ("TASK_NOT_CANCELABLE", 400, "FAILED_PRECONDITION"),
    -32003: ("PUSH_NOTIFICATION_NOT_SUPPORTED", 400, "FAILED_PRECONDITION"),
    -32004: ("UNSUPPORTED_OPERATION", 400, "FAILED_PRECONDITION"),
    -32005: ("CONTENT_TYPE_NOT_SUPPORTED", 400, "INVALID_ARGUMENT"),
    -32006: ("INVALID_AGENT_RESPONSE", 500, "INTERNAL"),
    -32007: ("EXTENDED_AGENT_CARD_NOT_CONFIGURED", 400, "FAILED_PRECONDITION"),
    -32008: ("EXTENSION_SUPPORT_REQUIRED", 400, "FAILED_PRECONDITION"),
    -32009: ("VERSION_NOT_SUPPORTED", 400, "FAILED_PRECONDITION"),
    # The gateway's own (A2A leaves authentication and limits to the binding): custom codes in A2A's range.
    -32010: ("UNAUTHENTICATED", 401, "UNAUTHENTICATED"),
    -32011: ("PERMISSION_DENIED", 403, "PERMISSION_DENIED"),
    -32012: ("RESOURCE_EXHAUSTED", 429, "RESOURCE_EXHAUSTED"),
    -32013: ("BUDGET_EXCEEDED", 400, "FAILED_PRECONDITION"),
    -32014: ("UNAVAILABLE", 503, "UNAVAILABLE"),
}


class A2AError(Exception):
    """An A2A failure with its JSON-RPC code; `data` is extra detail for the error object."""

    code = -32603

    def __init__(self, message: str, *, code: int | None = None, data: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data or {}
        self.headers = headers or {}

    @property
    def reason(self) -> str:
        return ERRORS.get(self.code, ERRORS[-32603])[0]

    @property
    def http_status(self) -> int:
        return ERRORS.get(self.code, ERRORS[-32603])[1]

    def error_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                "domain": "a2a-protocol.org"}
        if self.data:
            info["metadata"] = {k: str(v) for k, v in self.data.items()}
        return info

    def jsonrpc(self, *, legacy: bool) -> dict[str, Any]:
        """The JSON-RPC error object: 0.3 puts the detail in `data` as an object, 1.0 as a list of details."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if legacy:
            if self.data:
                error["data"] = self.data
        else:
            error["data"] = [self.error_info()]
        return error

    def rest(self) -> dict[str, Any]:
        """The HTTP+JSON binding's google.rpc.Status body."""
        return {"error": {"code": self.http_status, "status": ERRORS.get(self.code, ERRORS[-32603])[2],
                          "message": self.message, "details": [self.error_info()]}}


class ParseError(A2AError):
    code = -32700


class InvalidRequest(A2AError):
    code = -32600


class MethodNotFound(A2AError):
    code = -32601


class InvalidParams(A2AError):
    code = -32602


class InternalError(A2AError):
    code = -32603


class TaskNotFound(A2AError):
    code = -32001


class TaskNotCancelable(A2AError):
    code = -32002


class PushNotSupported(A2AError):
    code = -32003


class UnsupportedOperation(A2AError):
    code = -32004


class ContentTypeNotSupported(A2AError):
    code = -32005


class InvalidAgentResponse(A2AError):
    code = -32006


class ExtendedCardNotConfigured(A2AError):
    code = -32007


class VersionNotSupported(A2AError):
    code = -32009


class Unauthenticated(A2AError):
    code = -32010


class PermissionDenied(A2AError):
    code = -32011


class RateLimited(A2AError):
    code = -32012


class BudgetExhausted(A2AError):
    code = -32013


class Unavailable(A2AError):
    code = -32014
