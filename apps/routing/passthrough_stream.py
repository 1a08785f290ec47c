"""A provider's own SSE stream passed through to the client (Anthropic's Messages API, OpenAI's Responses API).

Like a chat stream (`stream_resume.primed`), it is read ahead inside the routed attempt until its first generated
content, so an upstream that drops the connection, sends a frame it cannot read, sends an error event or ends
without finishing before that is an ordinary failed attempt: retried or fallen back from, unseen by the client.
After it, bytes go out as they arrive, a failure ends the stream with an error event in the endpoint's format, and
the call is settled from what the stream's reader counted.
"""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Protocol, Self

from apps.core.errors import GatewayError
from apps.providers.base import Frame, Target, UpstreamError, Usage
from apps.providers.framing import decoder_for
from apps.providers.transport import TRANSPORT_ERRORS, RawResponse, malformed_answer, transport_error
from apps.routing.stream_resume import read_ahead, replayed
from apps.teams.costing import Price, approx_tokens
from apps.teams.metering import Billed, Meter


class PassedReader(Protocol):
    """What a provider's reader of its own stream tells: text generated, how it ended, its usage."""

    generated_chars: int
    error: str  # the error event's type or code, once one came

    @property
    def failure(self) -> UpstreamError | None: ...  # that error event as an UpstreamError

    @property
    def finished(self) -> bool: ...  # its final event came

    @property
    def usage(self) -> Usage | None: ...


class PassedThrough:
    """The upstream's SSE bytes as the client gets them (`out`), held back until the first generated content by
    `primed()`; `events()` under `aclosing` sends them and settles the call."""

    def __init__(self, response: RawResponse, reader: PassedReader, *, target: Target) -> None:
        self.response, self.reader, self.target = response, reader, target
        self.billing: tuple[Meter, Billed, Price] | None = None
        self.first: float | None = None
        self.source = self.reads()
        self.held: list[bytes] = []

    async def out(self, data: bytes, frames: list[Frame]) -> bytes:
        """The client's bytes for one upstream read `data` (decoded as `frames`), each frame fed to the reader."""
        raise NotImplementedError

    def error_bytes(self, error: GatewayError) -> bytes:
        """The event that ends a stream cut after its first content, in the endpoint's own format."""
        raise NotImplementedError

    async def released(self) -> None:
        """Called before the held bytes go out (a subclass stores what the read-ahead saw)."""

    async def primed(self) -> Self:
        """The stream once it carried generated content or finished; a failure before that is raised, here in the
        routed attempt, so the router can retry or fall back unseen."""
        reader = self.reader
        self.held = await read_ahead(self.source, enough=lambda _: bool(
            reader.generated_chars or reader.error or reader.finished))
        if not reader.generated_chars and (reader.error or not reader.finished):
            await self.source.aclose()
            raise reader.failure or malformed_answer(self.target)
        return self

    async def reads(self) -> AsyncGenerator[bytes, None]:
        """The client's bytes, one piece per upstream read; a dropped connection or an unreadable frame raised as
        an UpstreamError."""
        decoder = decoder_for("sse")
        try:
            async for data in self.response.aiter_raw():
                self.first = self.first or time.time()
                if out := await self.passed(data, decoder.feed(data)):
                    yield out
            if out := await self.passed(b"", decoder.close()):
                yield out
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.target) from None
        finally:
            await self.response.aclose()

    async def passed(self, data: bytes, frames: list[Frame]) -> bytes:
        try:
            return await self.out(data, frames)
        except GatewayError:
            raise
        except Exception:  # noqa: BLE001 - a frame the reader could not read
            raise malformed_answer(self.target) from None

    def bill(self, meter: Meter, deployment: Billed, price: Price) -> Self:
        self.billing = (meter, deployment, price)
        return self

    async def events(self) -> AsyncGenerator[bytes, None]:
        status, error = "cancelled", "client_disconnected"
        try:
            await self.released()
            async with aclosing(replayed(self.held, self.source)) as pieces:
                async for piece in pieces:
                    yield piece
            status, error = ("failure", self.reader.error) if self.reader.error else ("success", "")
        except GatewayError as failed:
            status, error = "failure", failed.error_code or failed.type
            yield self.error_bytes(failed)
        finally:
            await self.response.aclose()
            self.settle(status, error)

    def settle(self, status: str, error: str) -> None:
        if self.billing is None:
            return
        meter, deployment, price = self.billing
        usage = self.reader.usage or Usage(prompt_tokens=meter.estimate_prompt(),
                                           completion_tokens=approx_tokens(self.reader.generated_chars))
        meter.finish_soon(deployment, usage, price=price, status=status, error_type=error,
                          ttft=self.first - meter.started if self.first else None)
