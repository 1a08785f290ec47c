"""The two streams /v1/messages answers with, both as Anthropic SSE bytes: chat chunks translated, or an Anthropic
deployment's own events passed through byte for byte (metered from the usage they carry)."""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Protocol

from apps.core.errors import GatewayError
from apps.providers.anthropic_messages.errors import error_type
from apps.providers.anthropic_messages.stream import MessagesStreamState, chunk_events, end_events, error_event
from apps.providers.base import Frame, ProviderAdapter, Target, Usage
from apps.providers.framing import decoder_for
from apps.providers.transport import TRANSPORT_ERRORS, RawResponse, transport_error
from apps.teams.costing import Price, approx_tokens
from apps.teams.metering import Billed, Meter
from apps.teams.stream_meter import MeteredStream


class MessagesStream(Protocol):
    """Anthropic SSE bytes as they come; run `events()` under `aclosing` so a hang-up closes the upstream."""

    def events(self) -> AsyncGenerator[bytes, None]: ...


class StreamUsageReader(Protocol):
    """An adapter's reader of its own Messages stream (`messages_stream_usage()`)."""

    usage: Usage | None
    generated_chars: int
    finished: bool
    error: str

    def feed(self, frame: Frame) -> None: ...


class TranslatedStream:
    """A metered chat stream, its chunks turned into Anthropic events; an upstream failure ends it with an error event."""

    def __init__(self, chat: MeteredStream, *, model: str, input_tokens: int) -> None:
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


class PassthroughStream:
    """An Anthropic deployment's SSE bytes forwarded unchanged as they arrive; settled from the usage they told."""

    def __init__(self, response: RawResponse, reader: StreamUsageReader, *, target: Target) -> None:
        self.response, self.reader, self.target = response, reader, target
        self.billing: tuple[Meter, Billed, Price] | None = None

    def bill(self, meter: Meter, deployment: Billed, price: Price) -> PassthroughStream:
        self.billing = (meter, deployment, price)
        return self

    async def events(self) -> AsyncGenerator[bytes, None]:
        decoder = decoder_for("sse")
        first: float | None = None
        status, error = "cancelled", "client_disconnected"
        try:
            async for data in self.response.aiter_raw():
                first = first or time.time()
                for frame in decoder.feed(data):
                    self.reader.feed(frame)
                yield data
            status, error = ("failure", self.reader.error) if self.reader.error else ("success", "")
        except TRANSPORT_ERRORS as exc:
            failed = transport_error(exc, self.target)
            status, error = "failure", failed.error_code or failed.type
            yield error_event("api_error", failed.message)
        finally:
            await self.response.aclose()
            self.settle(status, error, first)

    def settle(self, status: str, error: str, first: float | None) -> None:
        if self.billing is None:
            return
        meter, deployment, price = self.billing
        usage = self.reader.usage or Usage(prompt_tokens=meter.estimate_prompt(),
                                           completion_tokens=approx_tokens(self.reader.generated_chars))
        meter.finish_soon(deployment, usage, price=price, status=status, error_type=error,
                          ttft=first - meter.started if first else None)

