"""The Realtime API's provider side: where a session's WebSocket goes, opening it, and what a response used.

A realtime adapter (`apps/providers/adapters/realtime_openai.py`) says which URL and headers open a session on a
deployment; `open_upstream` opens it with `websockets` (the client the `openai` SDK itself uses for realtime,
asyncio-native, with ping/pong keep-alive, close codes and size limits handled by the library), mapping a
refused handshake to an `UpstreamError` so routing can retry, cool down and fall back as for any call.
`response_usage` reads the `usage` of a `response.done` event; `RealtimePrice` prices it per text, audio and
cached token.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from apps.core import jsonutil
from apps.providers.base import Target, UpstreamError, Usage

ZERO = Decimal(0)
FORWARDED_HEADERS = ("openai-beta",)  # client headers a realtime upstream reads (the beta API's `realtime=v1`)


@dataclass(frozen=True, slots=True)
class RealtimeUpstream:
    """The WebSocket URL (`wss://...`) and handshake headers that open a session on one deployment."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


class RealtimeAdapter(Protocol):
    """What a provider with a Realtime API implements (pure: no IO)."""

    prefix: ClassVar[str]

    def realtime_upstream(self, target: Target, *, query: Mapping[str, str],
                          headers: Mapping[str, str]) -> RealtimeUpstream: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


async def open_upstream(adapter: RealtimeAdapter, upstream: RealtimeUpstream, target: Target) -> ClientConnection:
    """The upstream session, open; a refused or failed handshake raises UpstreamError (4xx kept, else 502/504)."""
    try:
        return await connect(upstream.url, additional_headers=dict(upstream.headers), user_agent_header=None,
                             open_timeout=min(target.timeout, 30.0), max_size=None, compression=None,
                             proxy=None)
    except InvalidStatus as refused:
        response = refused.response
        raise adapter.map_error(response.status_code, dict(response.headers.raw_items()), bytes(response.body or b"")) \
            from None
    except TimeoutError:
        raise UpstreamError("The realtime upstream did not answer the WebSocket handshake in time.", status=504,
                            error_type="timeout", provider=adapter.prefix) from None
    except (OSError, InvalidHandshake, asyncio.IncompleteReadError) as failed:
        raise UpstreamError(f"Could not open the realtime upstream: {type(failed).__name__}.", status=502,
                            provider=adapter.prefix) from None


# --- usage and price ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RealtimeUsage:
    """One response's tokens (`response.done`'s `usage`), text and audio apart; cached tokens are part of input."""

    text: Usage = Usage()
    audio: Usage = Usage()

    @property
    def usage(self) -> Usage:
        """The counts a spend row keeps: every input token as prompt, every output token as completion."""
        return Usage(prompt_tokens=self.text.prompt_tokens + self.audio.prompt_tokens,
                     completion_tokens=self.text.completion_tokens + self.audio.completion_tokens,
                     cached_tokens=self.text.cached_tokens + self.audio.cached_tokens)


def count(details: Any, name: str) -> int:
    value = details.get(name) if isinstance(details, Mapping) else None
    return value if isinstance(value, int) and value > 0 else 0


def split_count(total: int, details: Any, kind: str) -> int:
    """The tokens of `kind` ("text_tokens" or "audio_tokens"); without a breakdown, all of them are text."""
    if isinstance(details, Mapping) and ("text_tokens" in details or "audio_tokens" in details):
        return count(details, kind) + (count(details, "image_tokens") if kind == "text_tokens" else 0)
    return total if kind == "text_tokens" else 0


def response_usage(usage: Mapping[str, Any]) -> RealtimeUsage:
    """A `response.done` usage object by token kind (image input tokens are billed as text)."""
    inputs, outputs = usage.get("input_token_details"), usage.get("output_token_details")
    cached = inputs.get("cached_tokens_details") if isinstance(inputs, Mapping) else None
    kinds = {}
    for kind in ("text_tokens", "audio_tokens"):
        prompt = split_count(count(usage, "input_tokens"), inputs, kind)
        cached_count = split_count(count(inputs, "cached_tokens"), cached, kind)
        kinds[kind] = Usage(prompt_tokens=prompt, cached_tokens=min(cached_count, prompt),
                            completion_tokens=split_count(count(usage, "output_tokens"), outputs, kind))
    return RealtimeUsage(text=kinds["text_tokens"], audio=kinds["audio_tokens"])


def done_usage(frame: str) -> RealtimeUsage | None:
    """The usage of a `response.done` server event, None for any other frame (the rest are not parsed)."""
    if '"response.done"' not in frame:  # audio deltas are most frames and large: skip them unparsed
        return None
    try:
        event = jsonutil.loads(frame)
    except jsonutil.JSONDecodeError:
        return None
    if not isinstance(event, dict) or event.get("type") != "response.done":
        return None
    response = event.get("response")
    usage = response.get("usage") if isinstance(response, Mapping) else None
    return response_usage(usage) if isinstance(usage, Mapping) else RealtimeUsage()


@dataclass(frozen=True, slots=True)
class TokenRates:
    """USD per input, cached input and output token of one kind (text or audio)."""

    input: Decimal = ZERO
    cached: Decimal = ZERO
    output: Decimal = ZERO

    def cost(self, usage: Usage) -> Decimal:
        return (self.input * (usage.prompt_tokens - usage.cached_tokens) + self.cached * usage.cached_tokens
                + self.output * usage.completion_tokens)


@dataclass(frozen=True, slots=True)
class RealtimePrice:
    """The rates a response is billed at, text and audio apart."""

    text: TokenRates = TokenRates()
    audio: TokenRates = TokenRates()

    def cost(self, usage: RealtimeUsage) -> Decimal:
        """USD for one response."""
        return self.text.cost(usage.text) + self.audio.cost(usage.audio)

    @property
    def dearest_output(self) -> Decimal:
        """The highest rate an output token may cost (a response's worst case is priced at it)."""
        return max(self.text.output, self.audio.output)
