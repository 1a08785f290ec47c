"""A mock OpenAI (or Azure OpenAI) Realtime API: a WebSocket server speaking the Realtime events.

It checks the handshake as the real service does (path, query, credential header; 401 JSON otherwise),
opens with `session.created`, answers `session.update` with `session.updated` and `response.create` with
`response.created`, text deltas and a `response.done` carrying `USAGE`. Everything it got is recorded:
the handshake (`handshakes`), every client frame (`frames`) and how the gateway closed (`close_codes`).
`hang_up(code)` closes every open session from the upstream side.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

API_KEY = "sk-upstream-realtime"
MODEL = "gpt-realtime"
AZURE_DEPLOYMENT = "rt-prod"
AZURE_VERSION = "2024-10-01-preview"
REPLY = ["Hel", "lo!"]
# One response's usage: 40 text + 60 audio in (10 text and 20 audio of them cached), 5 text + 100 audio out.
USAGE = {"total_tokens": 205, "input_tokens": 100, "output_tokens": 105,
         "input_token_details": {"text_tokens": 40, "audio_tokens": 60, "image_tokens": 0, "cached_tokens": 30,
                                 "cached_tokens_details": {"text_tokens": 10, "audio_tokens": 20, "image_tokens": 0}},
         "output_token_details": {"text_tokens": 5, "audio_tokens": 100}}


@dataclass(frozen=True, slots=True)
class Handshake:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names


@dataclass(slots=True)
class RealtimeUpstream:
    """The running mock; `url` is its base (`http://127.0.0.1:<port>`), as a deployment's `api_base` takes it."""

    flavour: str  # "openai" or "azure"
    server: Server | None = None
    handshakes: list[Handshake] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)  # the client frames, as received
    sent: list[str] = field(default_factory=list)  # the frames it sent, as sent
    close_codes: list[int | None] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    open: list[ServerConnection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"

    def expected(self, request: Request) -> str | None:
        """Why the real service would refuse this handshake, or None."""
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        if self.flavour == "azure":
            if parts.path != "/openai/realtime" or query.get("deployment") != AZURE_DEPLOYMENT:
                return f"no deployment at {request.path}"
            return None if request.headers.get("api-key") == API_KEY else "bad api-key"
        if parts.path != "/v1/realtime" or query.get("model") != MODEL:
            return f"no model at {request.path}"
        return None if request.headers.get("authorization") == f"Bearer {API_KEY}" else "bad bearer"

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        with self.lock:
            self.handshakes.append(Handshake(path=parts.path, query=dict(parse_qsl(parts.query)), headers=headers))
        refusal = self.expected(request)
        if refusal is None:
            return None
        body = json.dumps({"error": {"message": refusal, "type": "invalid_request_error", "code": "invalid_api_key",
                                     "param": None}}).encode()
        status = 401 if "bad" in refusal else 404
        return Response(status, "Unauthorized" if status == 401 else "Not Found",
                        Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))]), body)

    def handle(self, connection: ServerConnection) -> None:
        with self.lock:
            self.open.append(connection)
        try:
            self.send(connection, event("session.created", session={"id": "sess_1", "object": "realtime.session",
                                                                     "model": MODEL, "type": "realtime"}))
            for raw in connection:
                assert isinstance(raw, str), "realtime client events are text frames"
                with self.lock:
                    self.frames.append(raw)
                for reply in answers(json.loads(raw)):
                    self.send(connection, reply)
        except ConnectionClosed:
            pass
        except Exception as exc:  # noqa: BLE001 - a broken assumption reaches the test through `failures`
            self.failures.append(repr(exc))
        finally:
            with self.lock:
                self.close_codes.append(connection.close_code)
                self.open.remove(connection)

    def send(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        frame = json.dumps(message, separators=(",", ":"))
        with self.lock:
            self.sent.append(frame)
        connection.send(frame)

    def hang_up(self, code: int = 1000) -> None:
        """Close every open session from the upstream side."""
        with self.lock:
            sessions = list(self.open)
        for connection in sessions:
            connection.close(code=code, reason="upstream hung up")

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `condition()` holds (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "the realtime mock never saw what the test waited for"
            time.sleep(0.01)


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": f"event_{kind}_{time.monotonic_ns()}", **fields}


def answers(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The server events the real service sends for one client event."""
    if message.get("type") == "session.update":
        return [event("session.updated", session={"id": "sess_1", "object": "realtime.session", "model": MODEL,
                                                  "type": "realtime", **dict(message.get("session") or {})})]
    if message.get("type") != "response.create":
        return []
    response = {"id": "resp_1", "object": "realtime.response", "status": "in_progress", "output": [],
                "conversation_id": "conv_1", "output_modalities": ["text"], "usage": None}
    deltas = [event("response.output_text.delta", response_id="resp_1", item_id="item_1", output_index=0,
                    content_index=0, delta=piece) for piece in REPLY]
    done = {**response, "status": "completed", "usage": USAGE,
            "output": [{"id": "item_1", "object": "realtime.item", "type": "message", "role": "assistant",
                        "status": "completed", "content": [{"type": "output_text", "text": "".join(REPLY)}]}]}
    return [event("response.created", response=response), *deltas, event("response.done", response=done)]


@contextmanager
def realtime_upstream(flavour: str = "openai") -> Iterator[RealtimeUpstream]:
    """The mock, serving on a free port until the block ends; it fails the test on a broken assumption."""
    upstream = RealtimeUpstream(flavour=flavour)
    upstream.server = serve(upstream.handle, "127.0.0.1", 0, process_request=upstream.process_request,
                            compression=None, max_size=None)
    thread = threading.Thread(target=upstream.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.server.shutdown()
        thread.join(timeout=10)
    assert upstream.failures == []
