"""The two streams /v1/responses answers with, both as Responses SSE bytes: chat chunks translated into Responses
events, or a Responses provider's own events passed through (ids renamed), metered from the usage they carry.
Either stores its final response before the event that carries it goes out."""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, Protocol

from apps.core.errors import GatewayError
from apps.providers.base import Target, Usage
from apps.providers.framing import decoder_for
from apps.providers.responses.passthrough import PassedStream
from apps.providers.responses.stream import ResponsesStreamState, sse
from apps.providers.transport import TRANSPORT_ERRORS, RawResponse, transport_error
from apps.teams.costing import Price, approx_tokens
from apps.teams.metering import Billed, Meter
from apps.teams.stream_meter import MeteredStream

Store = Callable[[dict[str, Any], str], Awaitable[None]]  # (final Response, provider id) -> stored


class ResponsesStream(Protocol):
    """Responses SSE bytes as they come; run `events()` under `aclosing` so a hang-up closes the upstream."""

    def events(self) -> AsyncGenerator[bytes, None]: ...


class TranslatedResponses:
    """A metered chat stream, its chunks turned into Responses events; an upstream failure ends it with `error`
    and `response.failed`."""

    def __init__(self, chat: MeteredStream, state: ResponsesStreamState, *, store: Store | None) -> None:
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


class PassthroughResponses:
    """A Responses provider's SSE events forwarded as they arrive, response ids renamed; settled from the usage of
    its final event, else from the text it generated."""

    def __init__(self, response: RawResponse, reader: PassedStream, *, target: Target) -> None:
        self.response, self.reader, self.target = response, reader, target
        self.billing: tuple[Meter, Billed, Price] | None = None
        self.store: Store | None = None

    def finished_by(self, *, meter: Meter, deployment: Billed, price: Price,
                    store: Store | None) -> PassthroughResponses:
        self.billing, self.store = (meter, deployment, price), store
        return self

    async def events(self) -> AsyncGenerator[bytes, None]:
        decoder = decoder_for("sse")
        first: float | None = None
        status, error = "cancelled", "client_disconnected"
        try:
            async for data in self.response.aiter_raw():
                first = first or time.time()
                out = await self.passed(decoder.feed(data))
                if out:
                    yield out
            out = await self.passed(decoder.close())
            if out:
                yield out
            status, error = ("failure", self.reader.error) if self.reader.error else ("success", "")
        except TRANSPORT_ERRORS as exc:
            failed = transport_error(exc, self.target)
            status, error = "failure", failed.error_code or failed.type
            yield sse({"type": "error", "code": failed.error_code, "message": failed.message, "param": None})
        finally:
            await self.response.aclose()
            self.settle(status, error, first)

    async def passed(self, frames: list[Any]) -> bytes:
        """The client's bytes for these frames; the final response is stored before they go out."""
        had_final = self.reader.final is not None
        out = b"".join(self.reader.feed(frame) for frame in frames)
        if not had_final and self.reader.final is not None and self.store is not None:
            await self.store(self.reader.final, self.reader.upstream_id)
        return out

    def settle(self, status: str, error: str, first: float | None) -> None:
        if self.billing is None:
            return
        meter, deployment, price = self.billing
        usage = self.reader.usage or Usage(prompt_tokens=meter.estimate_prompt(),
                                           completion_tokens=approx_tokens(self.reader.generated_chars))
        meter.finish_soon(deployment, usage, price=price, status=status, error_type=error,
                          ttft=first - meter.started if first else None)
