"""The two streams /v1/messages answers with, both as Anthropic SSE bytes: chat chunks translated, or an Anthropic
deployment's own events passed through byte for byte (metered from the usage they carry)."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Protocol

from apps.core.errors import GatewayError
from apps.providers.anthropic_messages.errors import error_type
from apps.providers.anthropic_messages.stream import MessagesStreamState, chunk_events, end_events, error_event
from apps.providers.base import Frame, Usage
from apps.providers.transport import ChatStream
from apps.routing.passthrough_stream import PassedReader, PassedThrough


class MessagesStream(Protocol):
    """Anthropic SSE bytes as they come; run `events()` under `aclosing` so a hang-up closes the upstream."""

    def events(self) -> AsyncGenerator[bytes, None]: ...


class TranslatedStream:
    """A (metered) chat stream, its chunks turned into Anthropic events; an upstream failure ends it with an error
    event."""

    def __init__(self, chat: ChatStream, *, model: str, input_tokens: int) -> None:
        self.chat = chat
        self.state = MessagesStreamState(model=model, input_tokens=input_tokens)

    async def events(self) -> AsyncGenerator[bytes, None]:
        state = self.state
        async with aclosing(self.chat.batches()) as batches:
            try:
                async for batch in batches:
                    events = [piece for chunk in batch for piece in chunk_events(state, chunk)]
                    if events:
                        yield b"".join(events)
            except GatewayError as error:
                yield error_event(error_type(error.status), error.message)
                return
        yield b"".join(end_events(state, state.usage or Usage(prompt_tokens=state.input_tokens)))


class StreamUsageReader(PassedReader, Protocol):
    """An adapter's reader of its own Messages stream (`messages_stream_usage()`)."""

    def feed(self, frame: Frame) -> None: ...


class PassthroughStream(PassedThrough):
    """An Anthropic deployment's SSE bytes forwarded unchanged as they arrive; settled from the usage they told."""

    reader: StreamUsageReader

    async def out(self, data: bytes, frames: list[Frame]) -> bytes:
        for frame in frames:
            self.reader.feed(frame)
        return data

    def error_bytes(self, error: GatewayError) -> bytes:
        return error_event("api_error", error.message)
