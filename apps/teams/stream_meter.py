"""A chat stream that settles its call when it ends: from the provider's final usage, else from what was sent.

A stream cut short (client hang-up, upstream failure) is billed for the text generated so far, counted
approximately. The settle always runs in a task of its own: a cancelled caller cannot await, and a
finished stream's `[DONE]` should not wait for it (as non-streamed answers do not).
"""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from apps.core.errors import GatewayError
from apps.providers.base import ChatChunk, Usage
from apps.providers.transport import ChatStream
from apps.teams.costing import Price, approx_tokens
from apps.teams.metering import Billed, Meter


def chunk_chars(body: dict[str, Any]) -> int:
    """Characters generated in one chunk: content, reasoning and tool-call arguments of every choice (or its
    `text`, in a legacy completions chunk)."""
    count = 0
    for choice in body.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not delta:
            text = choice.get("text") if isinstance(choice, dict) else None  # a text_completion chunk
            count += len(text) if isinstance(text, str) else 0
            continue
        for value in (delta.get("content"), delta.get("reasoning_content")):
            if isinstance(value, str):
                count += len(value)
        for call in delta.get("tool_calls") or ():
            function = (call.get("function") or {}) if isinstance(call, dict) else {}
            count += sum(len(v) for v in (function.get("name"), function.get("arguments")) if isinstance(v, str))
    return count


class MeteredStream(ChatStream):
    """Wraps an open ChatStream; `chunks()` passes every chunk through and settles the meter at the end."""

    def __init__(self, inner: ChatStream, *, meter: Meter, deployment: Billed, price: Price,
                 resumable: bool = False) -> None:
        super().__init__(inner.adapter, inner.target, inner.response)
        self.inner = inner
        self.meter = meter
        self.deployment = deployment
        self.price = price
        # A failure of a resumable stream is billed as a cut attempt; the call settles when its last attempt ends.
        self.resumable = resumable
        self.billed: Usage | None = None  # what this attempt was billed for, once it ended

    def partial_usage(self, generated_chars: int) -> Usage:
        return Usage(prompt_tokens=self.meter.estimate_prompt(), completion_tokens=approx_tokens(generated_chars))

    async def batches(self) -> AsyncGenerator[list[ChatChunk], None]:
        generated_chars = 0
        usage: Usage | None = None
        first: float | None = None
        status, error_type = "cancelled", "client_disconnected"
        try:
            async with aclosing(self.inner.batches()) as batches:
                async for batch in batches:
                    first = first or time.time()
                    for chunk in batch:
                        usage = chunk.usage or usage
                        generated_chars += chunk_chars(chunk.body)
                    yield batch
            status, error_type = "success", ""
        except GatewayError as error:
            status, error_type = "failure", error.error_code or error.type
            raise
        finally:
            # Settled in a task of its own: after the last chunk is out, and even when the caller was cancelled.
            ttft = first - self.meter.started if first else None
            self.billed = usage or self.partial_usage(generated_chars)
            if status == "failure" and self.resumable:
                self.meter.attempt_cut(self.deployment, self.billed, price=self.price, error_type=error_type,
                                       ttft=ttft)
            else:
                self.meter.finish_soon(self.deployment, self.billed, price=self.price, status=status,
                                       error_type=error_type, ttft=ttft)

    async def aclose(self) -> None:
        await self.inner.aclose()
