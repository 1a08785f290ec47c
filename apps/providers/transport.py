"""The only module that does provider IO: one pooled httpx client per event loop.

It sends what an adapter built, picks the stream decoder for the adapter's framing, closes streams
in `finally` (so a cancelled caller hangs up on the upstream at once) and turns httpx failures into
`UpstreamError`s. Retries and fallbacks are not done here; they belong to routing.
"""
from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
import httpx

from apps.providers import mock_upstream
from apps.providers.adapters.mock import MOCK_API_BASE
from apps.providers.base import (
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    ProviderAdapter,
    Target,
    UpstreamError,
    UpstreamRequest,
)
from apps.providers.framing import decoder_for

POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=60)
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


class MockUpstreamTransport(httpx.AsyncBaseTransport):
    """Answers `mock/` deployments in-process, on the same client path every real call takes."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        status, payload = mock_upstream.respond(request.url.path, await request.aread())
        if isinstance(payload, bytes):
            return httpx.Response(status, content=payload, headers={"content-type": "application/json"})
        return httpx.Response(status, content=_async_chunks(payload), headers={"content-type": "text/event-stream"})


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)  # let the consumer forward each event as it is produced


def client() -> httpx.AsyncClient:
    """The pooled client for the running event loop (connections cannot cross loops)."""
    loop = asyncio.get_running_loop()
    existing = _clients.get(loop)
    if existing is None or existing.is_closed:
        existing = httpx.AsyncClient(limits=POOL_LIMITS, follow_redirects=False,
                                     mounts={MOCK_API_BASE.rsplit("/", 1)[0]: MockUpstreamTransport()})
        _clients[loop] = existing
    return existing


def timeout_for(target: Target) -> httpx.Timeout:
    """Total budget for a call; on streams `read` is the idle limit between chunks."""
    idle = float(target.extra.get("stream_timeout") or target.timeout)
    return httpx.Timeout(target.timeout, connect=min(target.timeout, 10.0), read=idle)


def transport_error(exc: Exception, target: Target) -> UpstreamError:
    """An UpstreamError for a failure below HTTP; it never names the URL (keys can sit in queries)."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"upstream {target.provider} timed out after {target.timeout:g}s", status=408,
                             error_type="timeout", code="timeout", provider=target.provider)
    return UpstreamError(f"could not reach upstream {target.provider}: {type(exc).__name__}", status=502,
                         error_type="api_connection_error", code="upstream_unreachable", provider=target.provider)


def _prepare(adapter: ProviderAdapter, request: UpstreamRequest, target: Target) -> httpx.Request:
    sign = getattr(adapter, "sign", None)
    if sign is not None:
        request = sign(request, target)
    return client().build_request(request.method, request.url, headers=dict(request.headers), content=request.body,
                                  timeout=timeout_for(target))


async def send(adapter: ProviderAdapter, request: UpstreamRequest, target: Target) -> tuple[int, bytes]:
    """Send and read the whole answer; a non-2xx status raises the adapter's mapped error."""
    try:
        response = await client().send(_prepare(adapter, request, target))
    except httpx.HTTPError as exc:
        raise transport_error(exc, target) from None
    if response.status_code >= 400:
        raise adapter.map_error(response.status_code, response.headers, response.content)
    return response.status_code, response.content


async def send_chat(adapter: ProviderAdapter, call: ChatCall, target: Target) -> ChatCompletion:
    """A complete, non-streamed chat answer."""
    status, body = await send(adapter, adapter.translate_request(call, target), target)
    return adapter.parse_response(status, body, target)


async def send_embedding(adapter: ProviderAdapter, call: EmbeddingCall, target: Target) -> EmbeddingResult:
    """Embeddings for every input."""
    status, body = await send(adapter, adapter.translate_embedding_request(call, target), target)
    return adapter.parse_embedding_response(status, body, target)


def with_model(chunk: ChatChunk, target: Target) -> ChatChunk:
    """The chunk, its empty or missing `model` filled with the deployment's model (as non-streamed answers are).

    Adapters keep the model name the upstream reported; many streams name it only in a first event, or never.
    """
    if chunk.body.get("model"):
        return chunk
    return ChatChunk(body={**chunk.body, "model": target.model or target.model_alias}, usage=chunk.usage)


class ChatStream:
    """An open upstream stream: `chunks()` yields as bytes arrive; `aclose()` hangs up."""

    def __init__(self, adapter: ProviderAdapter, target: Target, response: httpx.Response) -> None:
        self.adapter = adapter
        self.target = target
        self.response = response
        self.headers: Mapping[str, str] = response.headers

    async def chunks(self) -> AsyncGenerator[ChatChunk, None]:
        """Chunks in arrival order; run it under `aclosing` so a cancelled caller hangs up at once."""
        decoder = decoder_for(self.adapter.framing)
        state = self.adapter.new_stream_state()
        try:
            async for data in self.response.aiter_raw():
                for frame in decoder.feed(data):
                    for chunk in self.adapter.parse_stream_chunk(frame, state):
                        yield with_model(chunk, self.target)
            for frame in decoder.close():
                for chunk in self.adapter.parse_stream_chunk(frame, state):
                    yield with_model(chunk, self.target)
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.target) from None
        finally:
            await self.response.aclose()

    async def aclose(self) -> None:
        await self.response.aclose()


async def open_chat_stream(adapter: ProviderAdapter, call: ChatCall, target: Target) -> ChatStream:
    """Send a streamed call and return once the upstream has answered with a 2xx status."""
    request = _prepare(adapter, adapter.translate_request(call, target), target)
    try:
        response = await client().send(request, stream=True)
    except httpx.HTTPError as exc:
        raise transport_error(exc, target) from None
    if response.status_code >= 400:
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            raise transport_error(exc, target) from None
        finally:
            await response.aclose()
        raise adapter.map_error(response.status_code, response.headers, body)
    return ChatStream(adapter, target, response)


async def close_all() -> None:
    """Close the running loop's client (shutdown, tests)."""
    loop = asyncio.get_running_loop()
    existing = _clients.pop(loop, None)
    if existing is not None:
        await existing.aclose()

