"""Call providers from Python without the server or a database: the gateway's own adapters and transport.
(`apps.providers.rerank` is the rerank values module, so `rerank` / `arerank` are imported from here.)

    from apps.providers import completion
    reply = completion(model="anthropic/claude-sonnet-4-20250514", messages=[{"role": "user", "content": "Hi"}])
    print(reply.choices[0].message.content)
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from apps.core.errors import GatewayError
from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, ProviderAdapter, Target
from apps.providers.env_defaults import with_env_defaults
from apps.providers.registry import resolve
from apps.providers.rerank import RerankCall, rerank_texts
from apps.providers.rerank_send import send_rerank
from apps.providers.sdk_errors import sdk_error
from apps.providers.sdk_session import current_session
from apps.providers.transport import ChatStream

T = TypeVar("T")
TARGET_FIELDS = ("api_base", "api_key", "api_version", "timeout", "drop_params")


class OpenAIObject(dict[str, Any]):
    """A response dict that also reads as attributes, like the openai SDK's models.

    As there, an optional field the provider left out reads as None (`delta.content` on the last chunk).
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return wrap(self.get(name))


def wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, OpenAIObject):
        return OpenAIObject(value)
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value


def build_target(model: str, options: dict[str, Any]) -> tuple[ProviderAdapter, Target]:
    """The adapter and Target for `provider/model`, taking keys from arguments, else the provider's env vars."""
    with openai_errors_at(lambda: "https://provider.invalid"):  # no call is made: there is no provider to call
        adapter, provider_model = resolve(model)
    given = {name: options.pop(name) for name in TARGET_FIELDS if name in options}
    extra = {name: options.pop(name) for name in list(options) if name.startswith(("aws_", "vertex_", "azure_"))}
    target = Target(provider=adapter.prefix, model=provider_model, api_key=given.get("api_key"),
                    api_base=given.get("api_base"), api_version=given.get("api_version"),
                    timeout=float(given.get("timeout") or 600.0), drop_params=bool(given.get("drop_params", False)),
                    extra=extra, model_alias=model)
    return adapter, with_env_defaults(target)


async def client_chunks(stream: ChatStream, *, include_usage: bool) -> AsyncGenerator[OpenAIObject, None]:
    """An open stream's chunks as the client should see them; closing this closes the upstream."""
    chunks = stream.chunks()
    try:
        async for chunk in chunks:
            body = chunk.for_client(include_usage=include_usage)
            if body is not None:
                yield OpenAIObject(body)
    finally:
        await chunks.aclose()


def call_url(adapter: ProviderAdapter, target: Target) -> str:
    """Where a call goes, for the openai errors' `request`: scheme, host and path only (a key can sit elsewhere)."""
    parts = urlsplit(target.api_base or getattr(adapter, "default_api_base", "") or f"https://{target.provider}")
    host = parts.netloc.rpartition("@")[2] or target.provider  # no user:password@
    return urlunsplit((parts.scheme or "https", host, parts.path, "", ""))


@contextmanager
def openai_errors_at(url: Callable[[], str]) -> Iterator[None]:
    """Raise the gateway's errors as `sdk_errors` ones, which the openai SDK's `except` clauses also catch.

    `url()` names where the call went, asked only when one fails (the Router knows it only then).
    """
    try:
        yield
    except GatewayError as error:
        raise sdk_error(error, url=url()) from None


def openai_errors(adapter: ProviderAdapter, target: Target) -> AbstractContextManager[None]:
    """`openai_errors_at` for a call to `target`."""
    return openai_errors_at(lambda: call_url(adapter, target))


async def sdk_chunks(chunks: AsyncGenerator[OpenAIObject, None], adapter: ProviderAdapter,
                     target: Target) -> AsyncGenerator[OpenAIObject, None]:
    """`chunks`, with an error mid-stream raised as an `sdk_errors` one."""
    try:
        with openai_errors(adapter, target):
            async for chunk in chunks:
                yield chunk
    finally:
        await chunks.aclose()


async def acompletion(model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                      **options: Any) -> OpenAIObject | AsyncGenerator[OpenAIObject, None]:
    """A chat completion (or, with stream=True, an async iterator of chunks) in OpenAI's shape.

    Inside a gateway session (an agent's turn) the call goes through the gateway, billed to the session's caller."""
    session = current_session.get()
    if session is not None:
        return await session.acompletion(model, messages, stream=stream, options=options)  # type: ignore[no-any-return]
    adapter, target = build_target(model, options)
    call = ChatCall(model=model, messages=messages, stream=stream, params=options)  # type: ignore[arg-type]
    with openai_errors(adapter, target):
        if stream:
            opened = await transport.open_chat_stream(adapter, call, target)
            return sdk_chunks(client_chunks(opened, include_usage=call.include_usage), adapter, target)
        result = await transport.send_chat(adapter, call, target)
    return OpenAIObject(result.body)


async def aembedding(model: str, input: Any, **options: Any) -> OpenAIObject:  # noqa: A002 - OpenAI's name
    """Embeddings in OpenAI's `list` shape."""
    adapter, target = build_target(model, options)
    with openai_errors(adapter, target):
        result = await transport.send_embedding(adapter, EmbeddingCall(model=model, input=input, params=options),
                                                target)
    return OpenAIObject(result.body)


async def arerank(model: str, query: str, documents: list[Any], *, top_n: int | None = None,
                  rank_fields: list[str] | None = None, return_documents: bool = False,
                  max_tokens_per_doc: int | None = None, **options: Any) -> OpenAIObject:
    """Documents ranked by relevance to `query`, in Cohere's `/rerank` shape (`{"id", "results", "meta"}`)."""
    adapter, target = build_target(model, options)
    call = RerankCall(model=model, query=query, documents=rerank_texts(documents, rank_fields), top_n=top_n,
                      return_documents=return_documents, max_tokens_per_doc=max_tokens_per_doc, params=options)
    with openai_errors(adapter, target):
        result = await send_rerank(adapter, call, target)
    return OpenAIObject(result.body)


class _LoopThread:
    """One background event loop for the sync API, so pooled connections survive between calls."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="tollgate-sdk", daemon=True).start()
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def iterate(self, iterator: AsyncGenerator[T, None]) -> Iterator[T]:
        async def step() -> T:
            return await iterator.__anext__()

        try:
            while True:
                try:
                    yield self.run(step())
                except StopAsyncIteration:
                    return
        finally:
            self.run(iterator.aclose())


runner = _LoopThread()


def completion(model: str, messages: list[dict[str, Any]], *, stream: bool = False,
               **options: Any) -> OpenAIObject | Iterator[OpenAIObject]:
    """Blocking `acompletion`; with stream=True, an iterator of chunks."""
    result = runner.run(acompletion(model, messages, stream=stream, **options))
    if isinstance(result, OpenAIObject):
        return result
    return runner.iterate(result)


def embedding(model: str, input: Any, **options: Any) -> OpenAIObject:  # noqa: A002
    """Blocking `aembedding`."""
    return runner.run(aembedding(model, input, **options))


def rerank(model: str, query: str, documents: list[Any], **options: Any) -> OpenAIObject:
    """Blocking `arerank`."""
    return runner.run(arerank(model, query, documents, **options))
