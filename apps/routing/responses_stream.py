"""The two streams /v1/responses answers with, both as Responses SSE bytes: chat chunks translated into Responses
events, or a Responses provider's own events passed through (ids renamed), metered from the usage they carry.
Either stores its final response before the event that carries it goes out."""
from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, Protocol

from apps.core.errors import GatewayError
from apps.providers.base import Frame, Target, Usage
from apps.providers.responses.passthrough import PassedStream
from apps.providers.responses.stream import ResponsesStreamState, sse
from apps.providers.transport import ChatStream, RawResponse
from apps.routing.passthrough_stream import PassedThrough
from apps.teams.costing import Price
from apps.teams.metering import Billed, Meter

Store = Callable[[dict[str, Any], str], Awaitable[None]]  # (final Response, provider id) -> stored


class ResponsesStream(Protocol):
    """Responses SSE bytes as they come; run `events()` under `aclosing` so a hang-up closes the upstream."""

    def events(self) -> AsyncGenerator[bytes, None]: ...


class TranslatedResponses:
    """A (metered) chat stream, its chunks turned into Responses events; an upstream failure ends it with `error`
    and `response.failed`."""

    def __init__(self, chat: ChatStream, state: ResponsesStreamState, *, store: Store | None) -> None:
        self.chat, self.state, self.store = chat, state, store

    async def events(self) -> AsyncGenerator[bytes, None]:
        state = self.state
        async with aclosing(self.chat.batches()) as batches:
            try:
                async for batch in batches:
                    events = [piece for chunk in batch for piece in state.chunk(chunk)]
                    if events:
                        yield b"".join(events)
            except GatewayError as error:
                yield b"".join(state.failed(code=error.error_code or error.type, message=error.message))
                return
        events, body = state.finish(state.usage or Usage())
        if self.store is not None:
            await self.store(body, "")
        yield b"".join([*events, state.final_event(body)])


class PassthroughResponses(PassedThrough):
    """A Responses provider's SSE events forwarded as they arrive, response ids renamed; settled from the usage of
    its final event, else from the text it generated. Its final response is stored before the event carrying it
    goes out (one the read-ahead saw, before the held bytes go out)."""

    reader: PassedStream

    def __init__(self, response: RawResponse, reader: PassedStream, *, target: Target) -> None:
        super().__init__(response, reader, target=target)
        self.store: Store | None = None
        self.stored = False

    def finished_by(self, *, meter: Meter, deployment: Billed, price: Price,
                    store: Store | None) -> PassthroughResponses:
        self.store = store
        return self.bill(meter, deployment, price)

    async def out(self, data: bytes, frames: list[Frame]) -> bytes:
        out = b"".join(self.reader.feed(frame) for frame in frames)
        await self.released()
        return out

    async def released(self) -> None:
        final = self.reader.final
        if final is not None and self.store is not None and not self.stored:
            self.stored = True
            await self.store(final, self.reader.upstream_id)

    def error_bytes(self, error: GatewayError) -> bytes:
        return sse({"type": "error", "code": error.error_code, "message": error.message, "param": None})
