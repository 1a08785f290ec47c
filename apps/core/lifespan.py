"""The ASGI lifespan protocol: run start-up hooks when the server starts and shutdown hooks when it stops.

uvicorn sends `lifespan.shutdown` on SIGTERM after in-flight requests finish, so shutdown hooks are
where buffered work (spend events) is flushed before the process exits.
"""
from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

logger = logging.getLogger("tollgate.lifespan")
Hook = Callable[[], Awaitable[None]]


class Lifespan:
    """An ASGI app for the `lifespan` scope."""

    def __init__(self, *, startup: Sequence[Hook] = (), shutdown: Sequence[Hook] = ()) -> None:
        self.startup = tuple(startup)
        self.shutdown = tuple(shutdown)

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self.startup:
                        await hook()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.shutdown:
                    try:
                        await hook()
                    except Exception:  # noqa: BLE001 - the other hooks still run
                        logger.exception("shutdown hook %s failed", hook)
                await send({"type": "lifespan.shutdown.complete"})
                return


async def gc_freeze() -> None:
    """Move everything loaded at start-up (Django, the app, snapshots' code) out of the collector's view.

    The cyclic GC otherwise rescans those ~10^5 long-lived objects in every full collection, a pause of
    several milliseconds on the event loop that shows up in the latency tail.
    """
    gc.collect()
    gc.freeze()
