"""The lean API handler, driven in-process like an ASGI server drives it (uvicorn's receive semantics)."""
from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from apps.core.asgi_lean import LeanASGIHandler
from tests.conftest import MASTER_KEY

pytestmark = pytest.mark.usefixtures("example_models")
CHAT = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "q"}]})


class FakeServer:
    """One request on one connection: `receive` answers `http.disconnect` once the response is complete."""

    def __init__(self, chunks: list[bytes], *, hang_up_after: float | None = None) -> None:
        self.chunks = list(chunks)
        self.sent: list[dict[str, Any]] = []
        self.complete = asyncio.Event()
        self.hang_up_after = hang_up_after
        self.reads = 0

    async def receive(self) -> dict[str, Any]:
        if self.chunks:
            self.reads += 1
            body = self.chunks.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}
        if self.hang_up_after is not None:
            await asyncio.sleep(self.hang_up_after)
            return {"type": "http.disconnect"}
        await self.complete.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.complete.set()

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def scope(path: str = "/v1/chat/completions", *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    raw = {"authorization": f"Bearer {MASTER_KEY}", "content-type": "application/json", **(headers or {})}
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in raw.items()],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}


@pytest.fixture
def handler() -> LeanASGIHandler:
    return LeanASGIHandler()


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def serve(handler: LeanASGIHandler, server: FakeServer, **kwargs: Any) -> None:
    await handler(scope(**kwargs), server.receive, server.send)


async def test_a_call_is_answered_and_the_listener_ends(handler: LeanASGIHandler) -> None:
    server = FakeServer([CHAT[:10], CHAT[10:]])
    await serve(handler, server)
    assert server.status == 200
    assert orjson.loads(server.body)["object"] == "chat.completion"
    await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in pending if "_watch" in repr(t.get_coro())]


async def test_warm_calls_leave_no_reference_cycles(handler: LeanASGIHandler, collector_off: None) -> None:
    """Cyclic garbage is what makes full collections run (and pause the event loop) under load."""
    for _ in range(20):  # warm: snapshots loaded, state-backend connections open
        await serve(handler, FakeServer([CHAT]))
    await asyncio.sleep(0.05)
    gc.collect()
    for _ in range(50):
        server = FakeServer([CHAT])
        await serve(handler, server)
        assert server.status == 200
    await asyncio.sleep(0)
    n = gc.collect()
    assert n < 50  # Django's own handler leaves ~40 objects in cycles per call


async def test_a_chunked_body_over_the_limit_is_413_after_draining_it(handler: LeanASGIHandler,
                                                                       settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    chunks = [b"x" * 600] * 5
    server = FakeServer(chunks)
    await serve(handler, server)
    assert server.status == 413
    assert orjson.loads(server.body)["error"]["code"] == "request_too_large"
    assert server.reads == 5


async def test_a_hang_up_cancels_the_view_and_the_server_task_carries_on(handler: LeanASGIHandler) -> None:
    stalled = asyncio.Event()

    async def slow_view(request: Any) -> Any:
        stalled.set()
        await asyncio.sleep(30)

    handler._middleware_chain = slow_view  # the view never answers; only the hang-up can end the call
    server = FakeServer([CHAT], hang_up_after=0.05)
    await asyncio.wait_for(serve(handler, server), timeout=5)
    assert stalled.is_set()
    assert server.sent == []
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_a_server_cancellation_is_not_swallowed(handler: LeanASGIHandler) -> None:
    async def slow_view(request: Any) -> Any:
        await asyncio.sleep(30)

    handler._middleware_chain = slow_view
    task = asyncio.ensure_future(serve(handler, FakeServer([CHAT])))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_complete_body_goes_out_in_one_message_however_large(handler: LeanASGIHandler) -> None:
    from django.http import HttpResponse

    server = FakeServer([])
    await handler.send_response(HttpResponse(b"x" * 300_000, content_type="application/json"), server.send)
    assert [m["type"] for m in server.sent] == ["http.response.start", "http.response.body"]  # Django: 6 messages
    assert server.body == b"x" * 300_000 and not server.sent[1].get("more_body")


async def test_api_calls_send_no_request_finished_signal_but_close_what_the_response_holds(
        handler: LeanASGIHandler) -> None:
    from django.core.signals import request_finished
    from django.http import HttpResponse

    finished: list[object] = []

    def receiver(**kwargs: object) -> None:
        finished.append(kwargs)

    request_finished.connect(receiver)
    try:
        server = FakeServer([CHAT])
        await serve(handler, server)
        assert server.status == 200
    finally:
        request_finished.disconnect(receiver)
    assert finished == []

    from apps.core.asgi_lean import close_resources

    closed: list[str] = []
    response = HttpResponse(b"{}")
    response._resource_closers.extend([lambda: closed.append("first"), lambda: 1 / 0, lambda: closed.append("last")])
    close_resources(response)
    assert closed == ["first", "last"] and response.closed


async def test_a_path_is_resolved_once_and_kept_within_a_bound(handler: LeanASGIHandler,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.handlers.base import BaseHandler

    resolved: list[str] = []
    original = BaseHandler.resolve_request

    def counting(self: BaseHandler, request: Any) -> Any:
        resolved.append(request.path_info)
        return original(self, request)

    monkeypatch.setattr(BaseHandler, "resolve_request", counting)
    for _ in range(3):
        server = FakeServer([CHAT])
        await serve(handler, server)
        assert server.status == 200
    assert resolved == ["/v1/chat/completions"]

    monkeypatch.setattr(LeanASGIHandler, "RESOLVED_PATHS", 2)
    for model in ("gpt-4o-mini", "missing-model", "gpt-4o-mini"):
        server = FakeServer([b""])
        await handler(scope(f"/v1/models/{model}") | {"method": "GET"}, server.receive, server.send)
        assert server.status == (200 if model == "gpt-4o-mini" else 404)
        assert model in server.body.decode()  # each path answered with its own kwargs
    assert len(handler.resolved) == 2


def answering_view(seen: list[tuple[str, bool]]) -> Any:
    """A view standing in for the resolved one: records the script prefix it sees and whether it ran in the loop."""
    from django.http import HttpResponse
    from django.urls import get_script_prefix

    def record(request: Any) -> HttpResponse:
        try:
            asyncio.get_running_loop()
            in_loop = True
        except RuntimeError:
            in_loop = False
        seen.append((get_script_prefix(), in_loop))
        return HttpResponse(b"{}", content_type="application/json")

    return record


@pytest.mark.parametrize("root_path, prefix", [("", "/"), ("/gateway", "/gateway/")])
async def test_views_see_the_script_prefix_of_their_root_path(handler: LeanASGIHandler, monkeypatch: pytest.MonkeyPatch,
                                                              root_path: str, prefix: str) -> None:
    seen: list[tuple[str, bool]] = []
    record = answering_view(seen)

    async def view(request: Any) -> Any:
        return record(request)

    monkeypatch.setattr(handler, "resolve_request", lambda request: (view, (), {}))
    server = FakeServer([CHAT])
    await handler(scope() | {"root_path": root_path}, server.receive, server.send)
    assert server.status == 200
    assert seen == [(prefix, True)]


async def test_a_sync_view_runs_in_a_thread_and_a_view_returning_nothing_is_a_500(handler: LeanASGIHandler,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, bool]] = []
    sync_view = answering_view(seen)
    monkeypatch.setattr(handler, "resolve_request", lambda request: (sync_view, (), {}))
    for _ in range(2):  # the second call takes the kept answer to "is it a coroutine function?"
        server = FakeServer([CHAT])
        await serve(handler, server)
        assert server.status == 200
    assert seen == [("/", False), ("/", False)]
    assert list(handler.views) == [sync_view]  # worked out once: the kept thread hop

    async def returns_nothing(request: Any) -> None:
        return None

    monkeypatch.setattr(handler, "resolve_request", lambda request: (returns_nothing, (), {}))
    server = FakeServer([CHAT])
    await serve(handler, server)
    assert server.status == 500
    assert b'"error"' in server.body
