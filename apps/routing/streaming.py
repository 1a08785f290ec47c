"""Upstream chunks to the client's SSE bytes, forwarded one by one as they arrive."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from apps.core.errors import GatewayError
from apps.core.responses import DONE, sse_event
from apps.providers.transport import ChatStream


async def sse_events(stream: ChatStream, *, include_usage: bool) -> AsyncIterator[bytes]:
    """`data: {...}` per chunk, then `[DONE]`; an upstream failure mid-way ends with an error event.

    The chunks of one upstream read go out together, in one write. Usage is always requested upstream
    (to bill the call); it reaches the client only if asked for. Cancelling this generator (client
    hang-up) closes the upstream response at once via `aclosing`.
    """
    async with aclosing(stream.batches()) as batches:
        try:
            async for batch in batches:
                events = [sse_event(body) for chunk in batch
                          if (body := chunk.for_client(include_usage=include_usage)) is not None]
                if events:
                    yield events[0] if len(events) == 1 else b"".join(events)
        except GatewayError as error:
            # Bytes already reached the client: no silent retry, a clear error event and the end.
            yield sse_event(error.payload())
            return
    yield DONE
