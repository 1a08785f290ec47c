"""The only module that does provider IO: a lean pooled HTTP/1.1 client per event loop (`h1pool`).

It sends what an adapter built, picks the stream decoder for the adapter's framing, closes streams
in `finally` (so a cancelled caller hangs up on the upstream at once) and turns transport failures
into `UpstreamError`s. Retries and fallbacks are not done here; they belong to routing. `mock/`
deployments are answered in-process by `mock_upstream`, through the same response interface.
"""
from __future__ import annotations

import asyncio
from contextlib import aclosing
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from dataclasses import replace
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from apps.core import tracing
from apps.core.addresses import is_public
from apps.core.errors import GatewayError
from apps.providers import h1pool, mock_upstream, tokens
from apps.providers.adapters.mock import MOCK_API_BASE
from apps.providers.base import (
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    FollowUp,
    Frame,
    ProviderAdapter,
    StreamState,
    Target,
    UpstreamError,
    UpstreamRequest,
    Usage,
)
from apps.providers.embedding_format import encoded_as, merged_embeddings
from apps.providers.framing import decoder_for

R = TypeVar("R")
MOCK_ORIGIN = MOCK_API_BASE.rsplit("/", 1)[0]
TRANSPORT_ERRORS = (OSError, TimeoutError)  # TimeoutError is an OSError; named for the reader
EMBEDDING_FANOUT = 16  # upstream calls at once for one embeddings request split per input


class RawResponse(Protocol):
    """What the transport reads from: the lean client's response or the in-process mock's."""

    status_code: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_raw(self) -> AsyncIterator[bytes]: ...

    async def read(self) -> bytes: ...

    async def aclose(self) -> None: ...


class MockResponse:
    """An in-process `mock/` answer."""

    def __init__(self, status: int, payload: bytes | Iterator[bytes]) -> None:
        self.status_code = status
        self.payload = payload
        kind = "application/json" if isinstance(payload, bytes) else "text/event-stream"
        self.headers: Mapping[str, str] = {"content-type": kind}

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        if isinstance(self.payload, bytes):
            yield self.payload
            return
        for chunk in self.payload:
            yield chunk
            await asyncio.sleep(0)  # let the consumer forward each event as it is produced

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_raw()])

    async def aclose(self) -> None:
        return None


def transport_error(exc: BaseException, target: Target) -> UpstreamError:
    """An UpstreamError for a failure below HTTP; it never names the URL (keys can sit in queries)."""
    if isinstance(exc, TimeoutError):
        return UpstreamError(f"upstream {target.provider} timed out after {target.timeout:g}s", status=408,
                             error_type="timeout", code="timeout", provider=target.provider)
    if isinstance(exc, h1pool.RefusedAddress):
        return UpstreamError("Rejected Request: the endpoint this call names resolved, as it was reached, to an "
                             "internal address; only public endpoints may be named by a call.", status=400,
                             error_type="invalid_request_error", code="client_endpoint_not_allowed",
                             param="api_base", provider=target.provider)
    kind = "RemoteProtocolError" if isinstance(exc, h1pool.ConnectionClosed) else "ConnectError"  # httpx's names
    return UpstreamError(f"could not reach upstream {target.provider}: {kind}", status=502,
                         error_type="api_connection_error", code="upstream_unreachable", provider=target.provider)


def malformed_answer(target: Target) -> UpstreamError:
    """An UpstreamError for an answer the adapter could not read (broken JSON, a frame of the wrong shape): a 502
    the router may retry elsewhere, never a 500 of ours."""
    return UpstreamError(f"upstream {target.provider} sent a malformed answer", status=502, error_type="api_error",
                         code="malformed_upstream_response", provider=target.provider)


def parsed(parse: Callable[[], R], target: Target) -> R:
    """`parse()`'s result; a failure that is not already an UpstreamError (or other GatewayError) is a malformed
    answer."""
    try:
        return parse()
    except GatewayError:
        raise
    except Exception:  # noqa: BLE001 - whatever an adapter raises on bytes it cannot read
        raise malformed_answer(target) from None


def _signed(adapter: ProviderAdapter, request: UpstreamRequest, target: Target) -> UpstreamRequest:
    sign = getattr(adapter, "sign", None)
    return request if sign is None else sign(request, target)


async def _open(request: UpstreamRequest, target: Target, *, stream: bool) -> RawResponse:
    """Send; return once the answer's head is in. Streams get the idle limit between chunks."""
    body = request.body if isinstance(request.body, bytes) else (request.body or b"")
    if tracing.ENABLED:
        request = traced_request(request)
    if request.url.startswith(MOCK_ORIGIN):
        return MockResponse(*mock_upstream.respond(urlsplit(request.url).path, body))
    idle = float(target.extra.get("stream_timeout") or target.timeout) if stream else None
    return await h1pool.request(request.method, request.url, request.headers, body,
                                connect_timeout=min(target.timeout, 10.0), read_timeout=idle,
                                check=is_public if target.public_only else None)


def traced_request(request: UpstreamRequest) -> UpstreamRequest:
    """The request with the current (attempt) span's `traceparent`; the span records the upstream's host and port
    (never the URL: keys can sit in its query). After signing: `traceparent` is not a signed header."""
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        parts = urlsplit(request.url)
        span.set_attributes({"server.address": parts.hostname or "",
                             "server.port": parts.port or (443 if parts.scheme == "https" else 80)})
    return replace(request, headers=tracing.inject(request.headers))


async def send(adapter: ProviderAdapter, request: UpstreamRequest, target: Target) -> tuple[int, bytes]:
    """Send and read the whole answer; a non-2xx status raises the adapter's mapped error."""
    request = _signed(adapter, request, target)
    try:
        async with asyncio.timeout(target.timeout):
            response = await _open(request, target, stream=False)
            content = await response.read()
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc, target) from None
    if response.status_code >= 400:
        raise adapter.map_error(response.status_code, response.headers, content)
    return response.status_code, content


async def send_chat(adapter: ProviderAdapter, call: ChatCall, target: Target) -> ChatCompletion:
    """A complete, non-streamed chat answer (after the adapter's follow-up requests, if it makes any)."""
    status, body = await send(adapter, adapter.translate_request(call, target), target)
    follow_up = getattr(adapter, "follow_up", None)
    if follow_up is not None:
        status, body = await _follow(adapter, follow_up(status, body, target), target, (status, body))
    result = parsed(lambda: adapter.parse_response(status, body, target), target)
    usage = prompt_estimated(adapter, result.usage, call)
    return result if usage is result.usage else ChatCompletion(body={**result.body, "usage": usage.as_openai()},
                                                               usage=usage)


async def _follow(adapter: ProviderAdapter, step: FollowUp | None, target: Target,
                  answer: tuple[int, bytes]) -> tuple[int, bytes]:
    """Send follow-up requests until the adapter has none (then the last answer is final); the whole chain
    keeps within `target.timeout`."""
    status, body = answer
    try:
        async with asyncio.timeout(target.timeout):
            while step is not None:
                await asyncio.sleep(step.delay)
                status, body = await send(adapter, step.request, target)
                step = adapter.follow_up(status, body, target)  # type: ignore[attr-defined]
    except TimeoutError as exc:
        raise transport_error(exc, target) from None
    return status, body


def prompt_estimated(adapter: ProviderAdapter, usage: Usage, call: ChatCall) -> Usage:
    """Usage with the prompt estimated from the messages, for upstreams that count no prompt tokens
    (`counts_prompt_tokens = False`: SageMaker text generation); others' usage is returned as is."""
    if usage.prompt_tokens or getattr(adapter, "counts_prompt_tokens", True):
        return usage
    return replace(usage, prompt_tokens=tokens.chat_tokens(call.messages))


async def send_embedding(adapter: ProviderAdapter, call: EmbeddingCall, target: Target) -> EmbeddingResult:
    """Embeddings for every input, in the client's `encoding_format` (base64 packed here when the provider answered
    floats). An adapter whose upstream embeds one input per call (`split_embedding`, Titan) gets one call per
    input, EMBEDDING_FANOUT at once, answered as one list in input order with usage summed; the first failure
    cancels the rest and is raised."""
    return encoded_as(await send_embedding_parts(adapter, call, target), call.params.get("encoding_format"))


async def send_embedding_parts(adapter: ProviderAdapter, call: EmbeddingCall, target: Target) -> EmbeddingResult:
    """The upstream calls of `send_embedding`, answered as one list (vectors as the adapter parsed them)."""
    split = getattr(adapter, "split_embedding", None)
    calls: list[EmbeddingCall] = split(call, target) if split is not None else [call]
    if len(calls) == 1:
        return await send_one_embedding(adapter, calls[0], target)
    gate = asyncio.Semaphore(EMBEDDING_FANOUT)

    async def gated(part: EmbeddingCall) -> EmbeddingResult:
        async with gate:
            return await send_one_embedding(adapter, part, target)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(gated(part)) for part in calls]
    except BaseExceptionGroup as grouped:
        raise grouped.exceptions[0] from None
    return merged_embeddings([task.result() for task in tasks])


async def send_one_embedding(adapter: ProviderAdapter, call: EmbeddingCall, target: Target) -> EmbeddingResult:
    """One upstream embeddings call."""
    status, body = await send(adapter, adapter.translate_embedding_request(call, target), target)
    result = parsed(lambda: adapter.parse_embedding_response(status, body, target), target)
    if result.usage.prompt_tokens or getattr(adapter, "counts_prompt_tokens", True):
        return result
    usage = Usage(prompt_tokens=tokens.input_tokens(call.input))
    return EmbeddingResult(body={**result.body, "usage": {"prompt_tokens": usage.prompt_tokens,
                                                          "total_tokens": usage.total_tokens}}, usage=usage)


def with_model(chunk: ChatChunk, target: Target) -> ChatChunk:
    """The chunk, its empty or missing `model` filled with the deployment's model (as non-streamed answers are).

    Adapters keep the model name the upstream reported; many streams name it only in a first event, or never.
    """
    if chunk.body.get("model"):
        return chunk
    return ChatChunk(body={**chunk.body, "model": target.model or target.model_alias}, usage=chunk.usage)


class ChatStream:
    """An open upstream stream: `chunks()` yields as bytes arrive; `aclose()` hangs up."""

    def __init__(self, adapter: ProviderAdapter, target: Target, response: RawResponse,
                 call: ChatCall | None = None) -> None:
        self.adapter = adapter
        self.target = target
        self.response = response
        self.call = call  # for a prompt estimate where the upstream counts none
        self.headers: Mapping[str, str] = response.headers

    async def batches(self) -> AsyncGenerator[list[ChatChunk], None]:
        """Chunks in arrival order, grouped by the network read that brought them (never an empty group).

        Forwarding a group at once sends what has already arrived in one write to the client instead of
        one per chunk; nothing waits for more. Run it under `aclosing` so a cancelled caller hangs up at once.
        """
        decoder = decoder_for(self.adapter.framing)
        state = self.adapter.new_stream_state()
        try:
            async for data in self.response.aiter_raw():
                batch, error = self._parse(decoder.feed(data), state)
                if batch:
                    yield batch
                if error is not None:
                    raise error
            batch, error = self._parse(decoder.close(), state)
            if batch:
                yield batch
            if error is not None:
                raise error
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.target) from None
        finally:
            await self.response.aclose()

    def _parse(self, frames: list[Frame], state: StreamState) -> tuple[list[ChatChunk], Exception | None]:
        """The chunks of `frames`, and the error a frame raised (an upstream error event mid-way): the
        chunks before it still reach the client, then the error."""
        batch: list[ChatChunk] = []
        try:
            for frame in frames:
                batch.extend(self._finished(chunk) for chunk in self.adapter.parse_stream_chunk(frame, state))
        except GatewayError as error:  # raised again by the caller, after the chunks before it
            return batch, error
        except Exception:  # noqa: BLE001 - a frame the adapter could not read
            return batch, malformed_answer(self.target)
        return batch, None

    def _finished(self, chunk: ChatChunk) -> ChatChunk:
        chunk = with_model(chunk, self.target)
        if chunk.usage is None or self.call is None:
            return chunk
        usage = prompt_estimated(self.adapter, chunk.usage, self.call)
        return chunk if usage is chunk.usage else ChatChunk(body={**chunk.body, "usage": usage.as_openai()},
                                                            usage=usage)

    async def chunks(self) -> AsyncGenerator[ChatChunk, None]:
        """Chunks one by one, in arrival order; run it under `aclosing` too."""
        async with aclosing(self.batches()) as batches:
            async for batch in batches:
                for chunk in batch:
                    yield chunk

    async def aclose(self) -> None:
        await self.response.aclose()


async def open_chat_stream(adapter: ProviderAdapter, call: ChatCall, target: Target) -> ChatStream:
    """Send a streamed call and return once the upstream has answered with a 2xx status.

    An adapter with `stream_request` (Replicate) first creates the call with a whole request, then the
    stream its answer names is opened."""
    request = adapter.translate_request(call, target)
    stream_request = getattr(adapter, "stream_request", None)
    if stream_request is not None:
        status, body = await send(adapter, request, target)
        request = stream_request(status, body, target)
    return ChatStream(adapter, target, await open_stream(adapter, request, target), call)


async def open_stream(adapter: ProviderAdapter, request: UpstreamRequest, target: Target) -> RawResponse:
    """Send a streamed request and return the response once its 2xx head is in (a non-2xx raises the adapter's
    mapped error); the caller reads and closes it."""
    request = _signed(adapter, request, target)
    try:
        async with asyncio.timeout(target.timeout):
            response = await _open(request, target, stream=True)
            if response.status_code >= 400:
                try:
                    body = await response.read()
                finally:
                    await response.aclose()
                raise adapter.map_error(response.status_code, response.headers, body)
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc, target) from None
    return response


async def close_all() -> None:
    """Close the running loop's pooled connections (shutdown, tests)."""
    h1pool.close_pool()
