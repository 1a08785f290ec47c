"""Plain HTTP for callers that are not provider adapters (A2A agents, push notifications): the same pooled client
the adapters use, JSON in and out, SSE read frame by frame."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from apps.core import jsonutil
from apps.providers import h1pool
from apps.providers.framing import SSEDecoder
from apps.providers.transport import TRANSPORT_ERRORS


class HttpFailure(Exception):
    """The peer could not be reached, timed out, or answered with something that is not JSON."""


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    status: int
    body: Any
    headers: Mapping[str, str]


async def send_json(method: str, url: str, *, headers: Mapping[str, str], body: Any = None,
                    timeout: float = 30.0) -> JsonAnswer:
    """One request with a JSON body (None: no body); the answer parsed as JSON (an empty body is None)."""
    payload = jsonutil.dumps(body) if body is not None else b""
    sent = {"content-type": "application/json", "accept": "application/json", **headers} if payload else \
        {"accept": "application/json", **headers}
    try:
        async with asyncio.timeout(timeout):
            response = await h1pool.request(method, url, sent, payload, connect_timeout=min(timeout, 10.0),
                                            read_timeout=None)
            content = await response.read()
    except TRANSPORT_ERRORS as exc:
        raise HttpFailure(f"could not reach {method} {url}: {type(exc).__name__}") from None
    try:
        parsed = jsonutil.loads(content) if content else None
    except jsonutil.JSONDecodeError:
        raise HttpFailure(f"{method} {url} answered {response.status_code} with a body that is not JSON") from None
    return JsonAnswer(response.status_code, parsed, response.headers)


async def stream_sse(url: str, *, headers: Mapping[str, str], body: Any, timeout: float = 30.0,
                     idle_timeout: float = 300.0) -> AsyncIterator[Any]:
    """POST `body` and yield each SSE event's `data` parsed as JSON, as it arrives; closing the iterator hangs up.

    A non-2xx answer raises HttpFailure naming its status, and its JSON body when there is one."""
    sent = {"content-type": "application/json", "accept": "text/event-stream", **headers}
    try:
        async with asyncio.timeout(timeout):
            response = await h1pool.request("POST", url, sent, jsonutil.dumps(body),
                                            connect_timeout=min(timeout, 10.0), read_timeout=idle_timeout)
    except TRANSPORT_ERRORS as exc:
        raise HttpFailure(f"could not reach POST {url}: {type(exc).__name__}") from None
    try:
        if response.status_code >= 300 or "json" in response.headers.get("content-type", ""):
            content = await response.read()
            yield jsonutil.loads(content) if content else {"status": response.status_code}
            return
        decoder = SSEDecoder()
        async for data in response.aiter_raw():
            for frame in decoder.feed(data):
                if frame.data:
                    yield jsonutil.loads(frame.data)
    except TRANSPORT_ERRORS as exc:
        raise HttpFailure(f"the stream from {url} broke: {type(exc).__name__}") from None
    except jsonutil.JSONDecodeError:
        raise HttpFailure(f"the stream from {url} sent an event that is not JSON") from None
    finally:
        await response.aclose()
