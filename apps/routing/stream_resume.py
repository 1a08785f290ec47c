"""Streams that fail over: before their first token unseen (`primed`), after it by resuming elsewhere.

A stream is held back until its first generated text (or its end) arrived, so a failure before it is
just a failed attempt the router retries or falls back from. With `stream_resume`, a stream cut later
continues on another deployment or fallback group: the text so far goes there as the assistant's prefix
(`continuation_call`), and `ResumingStream` forwards the continuation in the same client stream, with the
first attempt's id, model and created, no second role delta, and one final usage for every attempt billed.
"""
from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from apps.core.errors import GatewayError
from apps.providers import transport
from apps.providers.base import ChatCall, ChatChunk, ProviderAdapter, Target, UpstreamError, Usage
from apps.providers.transport import ChatStream, malformed_answer
from apps.teams.metering import Meter
from apps.teams.stream_meter import MeteredStream, chunk_chars

RESUME_INSTRUCTION = ("Your previous answer was cut off. Continue it exactly where it stopped, without repeating "
                      "any of it and without any preamble.")
IDENTITY = ("id", "model", "created", "system_fingerprint")
P = TypeVar("P")  # a piece of a stream read ahead: a batch of chunks, or passed-through bytes


class PrimedStream(ChatStream):
    """A stream whose first batches, up to the first one with generated text, were read ahead."""

    def __init__(self, inner: ChatStream, source: AsyncGenerator[list[ChatChunk], None],
                 held: list[list[ChatChunk]]) -> None:
        super().__init__(inner.adapter, inner.target, inner.response, inner.call)
        self.inner, self.source, self.held = inner, source, held

    def batches(self) -> AsyncGenerator[list[ChatChunk], None]:
        return replayed(self.held, self.source)

    async def aclose(self) -> None:
        await self.source.aclose()


async def read_ahead(source: AsyncGenerator[P, None], *, enough: Callable[[P], bool]) -> list[P]:
    """`source`'s pieces up to the first one that is `enough`, or all of them when it ends first; a failure
    meanwhile closes `source` and is raised here, where the router can still retry or fall back unseen."""
    held: list[P] = []
    try:
        async for piece in source:
            held.append(piece)
            if enough(piece):
                break
    except BaseException:
        await source.aclose()
        raise
    return held


async def replayed(held: list[P], source: AsyncGenerator[P, None]) -> AsyncGenerator[P, None]:
    """The pieces read ahead, then the rest of `source` (closed with this generator: run it under `aclosing`)."""
    async with aclosing(source):
        while held:
            yield held.pop(0)
        async for piece in source:
            yield piece


async def primed(stream: ChatStream) -> PrimedStream:
    """Read `stream` until its first generated text or its end; an upstream failure before that is raised here,
    where the router can still retry or fall back without the client seeing anything."""
    source = stream.batches()
    held = await read_ahead(source, enough=lambda batch: any(chunk_chars(chunk.body) for chunk in batch))
    if not held:  # not one event: no stream at all (a JSON body, an empty answer)
        raise malformed_answer(stream.target)
    return PrimedStream(stream, source, held)


async def open_primed(adapter: ProviderAdapter, call: ChatCall, target: Target) -> PrimedStream:
    """A streamed call sent and `primed`: one routed attempt of a stream that fails over before its first token."""
    return await primed(await transport.open_chat_stream(adapter, call, target))


def continuation_call(call: ChatCall, text: str, *, prefill: bool) -> ChatCall:
    """`call` asking for the rest of an answer that began with `text`: the text as the last, assistant, message
    where the provider continues it (prefill; trailing whitespace is refused there), else followed by an
    instruction to continue."""
    if prefill:
        return replace(call, messages=[*call.messages, {"role": "assistant", "content": text.rstrip()}])
    return replace(call, messages=[*call.messages, {"role": "assistant", "content": text},
                                   {"role": "user", "content": RESUME_INSTRUCTION}])


def resumable_error(error: GatewayError) -> bool:
    """Failures another deployment may not share (5xx, 429, timeouts, dropped connections), not the call's own."""
    return isinstance(error, UpstreamError) and error.retryable and not (error.is_context_window
                                                                        or error.is_content_policy)


def added(first: Usage, second: Usage) -> Usage:
    return Usage(prompt_tokens=first.prompt_tokens + second.prompt_tokens,
                 completion_tokens=first.completion_tokens + second.completion_tokens,
                 cached_tokens=first.cached_tokens + second.cached_tokens,
                 reasoning_tokens=first.reasoning_tokens + second.reasoning_tokens,
                 cache_creation_tokens=first.cache_creation_tokens + second.cache_creation_tokens)


# (text so far, the error that cut the stream, deployments that failed) -> the next attempt's metered stream
Resume = Callable[[str, UpstreamError, frozenset[str]], Awaitable[MeteredStream]]


@dataclass(slots=True)
class Continuity:
    """What the client has seen so far: the stream's identity, its text, and whether that text can be resumed."""

    identity: dict[str, Any] | None = None
    text: str = ""
    plain: bool = True  # one choice of plain content: no tool calls, no second choice
    legs: int = 1
    carried: Usage | None = None  # the usage billed for earlier, cut, attempts

    def seen(self, chunk: ChatChunk) -> ChatChunk:
        """The chunk as the client gets it, noting its text."""
        if self.identity is None:
            self.identity = {name: chunk.body[name] for name in IDENTITY if name in chunk.body}
        elif self.legs > 1:
            chunk = self.continued(chunk)
        for choice in chunk.body.get("choices") or ():
            delta = choice.get("delta") or {}
            if choice.get("index", 0) != 0 or delta.get("tool_calls") or delta.get("function_call"):
                self.plain = False
            content = delta.get("content") if "delta" in choice else choice.get("text")  # text: /v1/completions
            if isinstance(content, str):
                self.text += content
        return chunk

    def continued(self, chunk: ChatChunk) -> ChatChunk:
        """A continuation's chunk in the first attempt's stream: its identity, no role, whitespace not doubled,
        usage counting every attempt."""
        body = {**chunk.body, **(self.identity or {})}
        if "choices" in body:
            body["choices"] = [self.unspaced(choice) for choice in body["choices"] or ()]
        usage = chunk.usage
        if usage is not None and self.carried is not None:
            usage = added(self.carried, usage)
            body["usage"] = usage.as_openai()
        return ChatChunk(body=body, usage=usage)

    def unspaced(self, choice: dict[str, Any]) -> dict[str, Any]:
        """A continuation's choice without a role, its leading whitespace dropped after text that ended with some."""
        strip = self.text[-1:].isspace()
        if "delta" not in choice:  # a text_completion chunk
            text = choice.get("text")
            return {**choice, "text": text.lstrip()} if strip and isinstance(text, str) else choice
        delta = {k: v for k, v in (choice.get("delta") or {}).items() if k != "role"}
        content = delta.get("content")
        if isinstance(content, str) and strip:
            delta["content"] = content.lstrip()
        return {**choice, "delta": delta}


class ResumingStream(ChatStream):
    """A metered stream that, cut after its first token by a resumable failure, continues on the attempt
    `resume` opens, at most `limit` times; the client sees one stream."""

    def __init__(self, first: MeteredStream, *, meter: Meter, resume: Resume, limit: int) -> None:
        super().__init__(first.adapter, first.target, first.response, first.call)
        self.current, self.meter, self.resume, self.limit = first, meter, resume, limit
        self.failed: set[str] = set()

    async def batches(self) -> AsyncGenerator[list[ChatChunk], None]:
        seen = Continuity()
        while True:
            try:
                async with aclosing(self.current.batches()) as batches:
                    async for batch in batches:
                        yield [seen.seen(chunk) for chunk in batch]
                return
            except GatewayError as error:
                self.current = await self.next_leg(seen, error)

    async def next_leg(self, seen: Continuity, error: GatewayError) -> MeteredStream:
        """The attempt that continues the stream; when none may, the call settles and `error` is raised."""
        leg = self.current
        self.failed.add(leg.deployment.id)
        seen.carried = added(seen.carried or Usage(), leg.billed or Usage())
        error_type = error.error_code or error.type
        if not (resumable_error(error) and seen.plain and seen.text and seen.legs <= self.limit):
            self.meter.finish_soon(None, Usage(), price=None, status="failure", error_type=error_type)
            raise error
        assert isinstance(error, UpstreamError)  # resumable_error said so
        try:
            following = await self.resume(seen.text, error, frozenset(self.failed))
        except GatewayError:  # no deployment or fallback could take it: the cut is what the client hears of
            self.meter.finish_soon(None, Usage(), price=None, status="failure", error_type=error_type)
            raise error from None
        except BaseException:  # the client hung up meanwhile
            self.meter.finish_soon(None, Usage(), price=None, status="cancelled", error_type="client_disconnected")
            raise
        seen.legs += 1
        return following

    async def aclose(self) -> None:
        await self.current.aclose()
