"""The request body limit, in front of every HTTP path: a body past it is refused without being read.

A declared `Content-Length` past the limit is answered 413 before the application runs; a chunked body is
counted as it is read, and once past the limit the application sees a hang-up (so it stops and frees its
slot) and the client gets the 413. Both answers close the connection (the server drops the unread rest,
`apps.core.bounded_http`). Upload paths are left to `apps.core.uploads`, whose limit is the larger
TOLLGATE_MAX_UPLOAD_BYTES. Without this, Django's own handler would spool the whole body to disk first.
"""
from __future__ import annotations

from typing import Any

import orjson

from apps.core.uploads import is_upload_path

Scope = dict[str, Any]
DISCONNECT = {"type": "http.disconnect"}


def too_large_answer(limit: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 413's two ASGI messages, in OpenAI's error shape naming the limit."""
    body = orjson.dumps({"error": {
        "message": f"Request body is larger than the limit of {limit} bytes (TOLLGATE_MAX_REQUEST_BYTES).",
        "type": "invalid_request_error", "param": None, "code": "request_too_large"}})
    start = {"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"connection", b"close"),
        (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length (the server has checked it is a number), 0 when there is no body, or None
    for a chunked one."""
    chunked = False
    for name, value in headers:
        if name == b"content-length":
            return int(value)
        if name == b"transfer-encoding":
            chunked = True
    return None if chunked else 0


class BodyLimit:
    """ASGI middleware: request bodies past `limit` bytes get 413 and are not read past it."""

    def __init__(self, app: Any, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.answer = too_large_answer(limit)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        length = declared_length(scope["headers"])
        if length is not None and length <= self.limit or is_upload_path(scope["path"]):
            await self.app(scope, receive, send)
        elif length is not None:
            await send(self.answer[0])
            await send(self.answer[1])
        else:
            await self.counted(scope, receive, send)

    async def counted(self, scope: Scope, receive: Any, send: Any) -> None:
        """A body of unknown length (chunked, or none): counted as the application reads it."""
        size = 0
        over = False
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal size, over
            if over:
                return DISCONNECT
            message: dict[str, Any] = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:
                over = True
                return DISCONNECT
            return message

        async def watching_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = True
            await send(message)

        await self.app(scope, counting_receive, watching_send)
        if over and not started:
            await send(self.answer[0])
            await send(self.answer[1])
