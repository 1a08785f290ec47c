"""A real HTTP server speaking OpenAI's wire format, for tests: records requests, fails or stalls on demand."""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from apps.core import jsonutil
from apps.providers import mock_upstream
from tests.upstreams.gateway import PROMPT, GatewayUpstream, Seen

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return jsonutil.loads(self.body)


@dataclass
class Reply:
    """What the next request gets. Defaults to the deterministic mock answer (streamed if asked)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # never answer; wait for the client to hang up
    chunk_delay: float = 0.0  # seconds between streamed events
    events: list[bytes] | None = None  # raw SSE bytes to stream instead of the default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpenAIUpstream:
    """Run with `start()`; `url` is the api_base (ending in /v1)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.requests: list[Recorded] = []
        self.replies: list[Reply] = []
        self.by_model: dict[str, Reply] = {}  # every request for this model gets this reply
        self.hangups = 0
        self.events_sent = 0
        self.hangup_event = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- control -------------------------------------------------------------------------------

    def reply_with(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def always_for(self, model: str, reply: Reply) -> None:
        """Answer every request naming `model` with `reply` until reset (per-deployment failures)."""
        self.by_model[model] = reply

    def models_called(self) -> list[str]:
        """The `model` of each recorded JSON request, in order."""
        return [r.json.get("model") for r in self.requests if r.body]

    def reset(self) -> None:
        self.requests.clear()
        self.replies.clear()
        self.by_model.clear()
        self.hangups = 0
        self.events_sent = 0
        self.hangup_event.clear()

    def start(self) -> OpenAIUpstream:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off",
                                interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the ASGI app --------------------------------------------------------------------------

    async def app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Recorded(scope["method"], scope["path"], scope["query_string"].decode(), headers, body))
        reply = self._reply_for(body)
        if reply.stall:
            await self._wait_for_hangup(receive)
            return
        if reply.status != 200 or reply.body is not None:
            payload = reply.body if isinstance(reply.body, bytes) else jsonutil.dumps(reply.body)
            await self._send_whole(send, reply.status, payload, reply.headers)
            return
        status, answer = mock_upstream.respond(scope["path"], body)
        if isinstance(answer, bytes):
            await self._send_whole(send, status, answer, reply.headers)
            return
        events = reply.events if reply.events is not None else list(answer)
        await self._send_stream(send, receive, events, reply.chunk_delay)

    def _reply_for(self, body: bytes) -> Reply:
        if self.by_model:
            try:
                model = jsonutil.loads(body).get("model")
            except (jsonutil.JSONDecodeError, AttributeError):
                model = None
            if model in self.by_model:
                return self.by_model[model]
        return self.replies.pop(0) if self.replies else Reply()

    async def _wait_for_hangup(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._record_hangup()

    def _record_hangup(self) -> None:
        self.hangups += 1
        self.hangup_event.set()

    async def _send_whole(self, send: Send, status: int, payload: bytes, headers: dict[str, str]) -> None:
        raw_headers = [(b"content-type", b"application/json")] + [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _send_stream(self, send: Send, receive: Receive, events: list[bytes], delay: float) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        hangup = asyncio.ensure_future(self._wait_for_hangup(receive))
        try:
            for event in events:
                if delay:
                    await asyncio.wait({hangup}, timeout=delay)
                if hangup.done():
                    return
                await send({"type": "http.response.body", "body": event, "more_body": True})
                self.events_sent += 1
            await send({"type": "http.response.body", "body": b""})
        finally:
            if not hangup.done():
                hangup.cancel()


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A fresh OpenAI mock, deployable through the gateway (the deterministic mock answers)."""
    upstream = OpenAIUpstream().start()
    try:
        yield GatewayUpstream(
            provider="openai", provider_model="gpt-4o-2024-08-06", api_base=upstream.url, api_key="sk-upstream-e2e",
            received=lambda: [Seen(r.path, r.headers) for r in upstream.requests],
            paths={"chat": "/v1/chat/completions", "stream": "/v1/chat/completions", "embeddings": "/v1/embeddings"},
            auth=("authorization", "Bearer sk-upstream-e2e"), text=f"{mock_upstream.REPLY_PREFIX} {PROMPT}",
            stream_text=f"{mock_upstream.REPLY_PREFIX} {PROMPT}", tool_arguments={"city": "mock"},
            embedding_model="text-embedding-3-small")
    finally:
        upstream.stop()
