"""The ASGI handler for the OpenAI-compatible API: Django's, minus what the API never uses.

Measured in-process on the mock provider: the full stack spends about 1 ms of CPU per call in
thread hops alone (each `MiddlewareMixin` hook and each sync signal receiver runs through
`sync_to_async`). The API needs none of it: no sessions, cookies, CSRF, messages or clickjacking
headers, and no ORM per request (so no `close_old_connections` signals). The admin and the
management API keep Django's full stack and its security middleware.
"""
from __future__ import annotations

import asyncio
import io
import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import orjson

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import ResolverMatch
from django.urls import set_script_prefix
from django.utils.log import log_response
from django.utils.module_loading import import_string

from apps.core.fair_share import FairShare, credential_of, over_share_answer
from apps.core.http import BODY_TOO_LARGE
from apps.core.metrics import UPSTREAM_SECONDS, record_http
from apps.core.ninja_direct import direct_view
from apps.core.uploads import UPLOAD_STREAM, UploadStream, is_upload_path

Scope = dict[str, Any]
API_URLCONF = "gatewaysite.urls_api"


class LeanASGIHandler(ASGIHandler):
    """Serves API paths with `TOLLGATE_API_MIDDLEWARE` only and no per-request signals.

    Per call it also avoids what Django's `handle` allocates for generality, measured as the source
    of the gateway's garbage-collector pauses under load: a SpooledTemporaryFile for the body, a second
    task for the view, and a `RequestAborted` raised by the disconnect listener after every answer,
    whose traceback ties task, frame and request into a reference cycle only a full collection frees.
    """

    RESOLVED_PATHS = 256  # distinct API paths whose resolution is kept (bounded: ids in paths are unbounded)

    def __init__(self) -> None:
        self.resolved: dict[str, ResolverMatch] = {}
        self.views: dict[Any, Any] = {}  # per URL callback: what calls it (apps.core.ninja_direct, or a thread hop)
        super().__init__()

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        """Django's resolution, kept per path: the API's routes never change while serving.

        A kept match is shared by the calls to its path; views get its kwargs unpacked, never the dict.
        The thread's urlconf is not set on a kept path: `reverse()` finds the API's routes in the root
        map as well."""
        match = self.resolved.get(request.path_info)
        if match is None:
            match = super().resolve_request(request)  # type: ignore[misc]
            if len(self.resolved) < self.RESOLVED_PATHS:
                self.resolved[request.path_info] = match
        request.resolver_match = match
        return match

    async def _get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Django's, for the API's views: no view or template-response middleware and no ATOMIC_REQUESTS
        (the API does no ORM work per call), so only resolve, call and check. A sync view still runs in a
        thread; an async ninja operation with nothing for ninja to check or resolve is called directly
        (`apps.core.ninja_direct`). How to call each view is worked out once."""
        callback, args, kwargs = self.resolve_request(request)
        view = self.views.get(callback)
        if view is None:
            view = self.views[callback] = (direct_view(callback) if iscoroutinefunction(callback)
                                           else sync_to_async(callback, thread_sensitive=True))
        response = await view(request, *args, **kwargs)
        self.check_response(response, callback)  # type: ignore[attr-defined]
        return response  # type: ignore[no-any-return]

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        """Django's `get_response_async` for the API: the middleware chain, the request's closer and the log line
        of an error answer, without setting the thread's urlconf to ROOT_URLCONF per call (an asgiref Local
        write): nothing in this task has set another one, and the API's requests name their own."""
        response: HttpResponseBase = await self._middleware_chain(request)  # type: ignore[misc]
        response._resource_closers.append(request.close)  # type: ignore[attr-defined]
        if response.status_code >= 400:
            await sync_to_async(log_response, thread_sensitive=False)(
                "%s: %s", response.reason_phrase, request.path, response=response,  # type: ignore[arg-type]
                request=request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response

    def load_middleware(self, is_async: bool = False) -> None:
        handler = convert_exception_to_response(self._get_response_async)  # type: ignore[attr-defined]
        for path in reversed(settings.TOLLGATE_API_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        self._middleware_chain = handler

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        """Read the body, run the view in this task, send; a client hang-up cancels the view.

        An upload path's body is left for the view to read as it arrives (`apps.core.uploads`); the hang-up
        watcher starts once it has all been read (before, the upload's reader sees a hang-up itself)."""
        if is_upload_path(scope["path"]):
            await self.handle_upload(scope, receive, send)
            return
        body = await read_body(receive, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if body is None:
            return  # the client left before the request was complete
        prefix = get_script_prefix(scope)
        if prefix not in ("", "/"):  # "/" is the default: writing it per call cost an asgiref Local write
            set_script_prefix(prefix)
        request, error_response = self.create_request(scope, io.BytesIO(body.data))
        if request is None:
            assert error_response is not None
            await self.send_response(error_response, send)
            return
        if body.too_large:
            request.META[BODY_TOO_LARGE] = True
        else:
            # Read here, within DATA_UPLOAD_MAX_MEMORY_SIZE: `request.body` need not check the limit and read the
            # stream again (Django's property returns `_body` once it is set, as after its own first read).
            request._body = body.data
        request.urlconf = API_URLCONF  # only the API's routes: resolving skips the admin and management ones
        watcher = DisconnectWatcher(receive)
        started = time.monotonic()
        upstream = [0.0]
        UPSTREAM_SECONDS.set(upstream)  # this task's own context: the next request's task sets its own
        try:
            response = await self.run_get_response(request)
            await self.send_response(response, send)
            match = request.resolver_match
            record_http(match.route if match is not None else "unmatched", request.method or "", response.status_code,
                        time.monotonic() - started, upstream=None if response.streaming else upstream[0])
        except asyncio.CancelledError:
            if not watcher.hung_up:
                raise  # the server is cancelling us (shutdown): not ours to swallow
            watcher.forgive()
            return
        finally:
            watcher.stop()
        close_resources(response)

    async def handle_upload(self, scope: Scope, receive: Any, send: Any) -> None:
        prefix = get_script_prefix(scope)
        if prefix not in ("", "/"):
            set_script_prefix(prefix)
        request, error_response = self.create_request(scope, io.BytesIO(b""))
        if request is None:
            assert error_response is not None
            await self.send_response(error_response, send)
            return
        request.urlconf = API_URLCONF
        watchers: list[DisconnectWatcher] = []
        stream = UploadStream(receive, lambda: watchers.append(DisconnectWatcher(receive)))
        request.META[UPLOAD_STREAM] = stream
        started, upstream = time.monotonic(), [0.0]
        UPSTREAM_SECONDS.set(upstream)
        try:
            response = await self.run_get_response(request)
            if not stream.hung_up:
                await self.send_response(response, send)
            match = request.resolver_match
            record_http(match.route if match is not None else "unmatched", request.method or "", response.status_code,
                        time.monotonic() - started, upstream=None if response.streaming else upstream[0])
        except asyncio.CancelledError:
            if not (watchers and watchers[0].hung_up):
                raise
            watchers[0].forgive()
            return
        finally:
            for watcher in watchers:
                watcher.stop()
        close_resources(response)

    async def send_response(self, response: HttpResponseBase, send: Any) -> None:
        """Django's, for what the API sends: one body message for a complete answer (Django splits bodies into
        64 KiB messages), each streamed part as it comes, cookies only when there are any."""
        if response.streaming and not response.is_async:  # type: ignore[attr-defined]
            await super().send_response(response, send)  # a sync iterator: Django's own mapping
            return
        # ResponseHeaders' own store (lower-case name -> (name, value)): what response.items() yields, without a
        # Mapping view's Python-level iteration and lookups per header.
        headers = [(name.encode("ascii") if isinstance(name, str) else name,
                    value.encode("latin1") if isinstance(value, str) else value)
                   for name, value in response.headers._store.values()]  # type: ignore[attr-defined]
        if response.cookies:
            headers += [(b"Set-Cookie", c.output(header="").encode("ascii").strip()) for c in response.cookies.values()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        if not response.streaming:
            await send({"type": "http.response.body", "body": response.content})  # type: ignore[attr-defined]
            return
        async with aclosing(response.streaming_content) as parts:  # type: ignore[attr-defined]
            async for part in parts:
                if part:
                    await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body"})


def close_resources(response: HttpResponseBase) -> None:
    """What `response.close()` does, minus the `request_finished` signal: its receivers close database
    connections and caches and reset the urlconf, and the API uses none of them in this task (the urlconf
    it sets lives in the task's own context). A file or iterator the response holds is still closed."""
    for closer in response._resource_closers:  # type: ignore[attr-defined]
        try:
            closer()
        except Exception:  # as Django's close(): one failing closer must not keep the others open
            pass
    response._resource_closers.clear()  # type: ignore[attr-defined]
    response.closed = True


@dataclass(slots=True)
class Body:
    data: bytes
    too_large: bool = False


async def read_body(receive: Any, *, limit: int) -> Body | None:
    """The whole request body, or None when the client hangs up first.

    Past `limit` bytes the rest is read and dropped (memory stays bounded, the connection stays usable)
    and the body is marked too large, for the view to answer 413.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if size > limit:
        return Body(b"", too_large=True)
    return Body(chunks[0] if len(chunks) == 1 else b"".join(chunks))


class DisconnectWatcher:
    """Cancels the serving task when the client hangs up, as Django's handler does, with one task, no raise.

    Servers answer `receive()` with `http.disconnect` both when the client leaves and once the response
    is complete; `stop()` runs before the latter can be seen, so only a real hang-up cancels.
    """

    __slots__ = ("receive", "target", "task", "stopped", "hung_up")

    def __init__(self, receive: Any) -> None:
        self.receive = receive
        self.target = asyncio.current_task()
        self.stopped = False
        self.hung_up = False
        self.task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        try:
            while True:
                message = await self.receive()
                if message["type"] == "http.disconnect":
                    break
        except asyncio.CancelledError:
            return  # stopped: the answer is out
        if not self.stopped and self.target is not None:
            self.hung_up = True
            self.target.cancel()

    def stop(self) -> None:
        """The answer is out. uvicorn has already woken the listener (response complete): it ends by itself
        on the next loop turn. Cancelling it would cost an exception in a reference cycle per call, so only
        a listener some other server leaves waiting is cancelled, one turn later."""
        self.stopped = True
        if not self.task.done():
            asyncio.get_running_loop().call_soon(self._cancel_if_waiting)

    def _cancel_if_waiting(self) -> None:
        if not self.task.done():
            self.task.cancel()

    def forgive(self) -> None:
        """The hang-up's cancellation is handled: the serving task carries on (back to the server)."""
        if self.target is not None:
            self.target.uncancel()


OVERLOADED_BODY = orjson.dumps({"error": {
    "message": "the gateway is at its in-flight limit; retry after the Retry-After delay",
    "type": "server_overloaded", "param": None, "code": "overloaded"}})
OVERLOADED_START = {"type": "http.response.start", "status": 503, "headers": [
    (b"content-type", b"application/json"), (b"retry-after", b"1"),
    (b"content-length", str(len(OVERLOADED_BODY)).encode())]}
OVERLOADED_END = {"type": "http.response.body", "body": OVERLOADED_BODY}


class PathDispatcher:
    """Routes API paths to the lean handler and everything else (admin, management API) to Django's.

    Past `max_in_flight` API calls in this process, further API calls are answered 503 with
    Retry-After at once instead of queueing behind the others (0: no limit). With `fair_share`, a key
    holding its fair share of those slots once the process is busy gets 429 (`apps.core.fair_share`).
    The admin, the management API and health probes are never refused.
    """

    def __init__(self, *, api: Any, full: Any, prefixes: tuple[str, ...], max_in_flight: int = 0,
                 fair_share: bool = False) -> None:
        self.api = api
        self.full = full
        self.prefixes = prefixes
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.fair = FairShare(max_in_flight) if fair_share and max_in_flight else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not scope["path"].startswith(self.prefixes):
            await self.full(scope, receive, send)
            return
        health = _is_health(scope)
        fair = None if health else self.fair
        key = 0
        over_share = False
        if fair is not None:
            key = credential_of(scope["headers"])
            over_share = fair.over_share(key)
            if over_share and fair.contended():
                # Others hold slots too: the flooding key gets 429 (its own limit), not the 503 of a full process.
                start, end = over_share_answer(fair.share())
                await send(start)
                await send(end)
                return
        if over_share or (self.max_in_flight and self.in_flight >= self.max_in_flight and not health):
            await send(OVERLOADED_START)
            await send(OVERLOADED_END)
            return
        if fair is not None:
            fair.take(key)
        self.in_flight += 1
        try:
            await self.api(scope, receive, send)
        finally:
            self.in_flight -= 1
            if fair is not None:
                fair.release(key)


def _is_health(scope: Scope) -> bool:
    """Health probes are answered even at the limit (an orchestrator must not kill a busy gateway)."""
    return bool(scope["path"].startswith("/health"))
