"""`/v1/realtime`: a Channels consumer relaying a client's WebSocket to the upstream's, frames unchanged.

Close codes: a handshake the gateway refuses (no or bad key, no access, unknown model, budget already spent)
is answered before accepting, with the HTTP status and OpenAI error body of the same call over HTTP where the
server supports ASGI's denial response (uvicorn does), else closed with 1008 (the server answers 403). Mid-
session, an `error` event names the refusal and the socket closes with 1008 (policy violation) when the
budget is spent, or 1013 (try again later) when a rate limit is reached. Either side hanging up closes the
other: the client's close code goes upstream, the upstream's comes back (1011 when it went away abnormally).
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress

from channels.generic.websocket import AsyncWebsocketConsumer
from websockets.exceptions import ConnectionClosed

from apps.core import jsonutil
from apps.core.errors import GatewayError, InternalError, RateLimited
from apps.providers.realtime import done_usage
from apps.routing.realtime.handshake import realtime_request
from apps.routing.realtime.session import RealtimeSession, session_bill, session_end, session_open

logger = logging.getLogger("tollgate.realtime")
POLICY_VIOLATION, TRY_AGAIN_LATER, INTERNAL_ERROR = 1008, 1013, 1011
UNSENDABLE_CODES = frozenset({1005, 1006, 1015})  # reserved: they describe a close, none may be sent


def error_event(error: GatewayError) -> str:
    """A Realtime API `error` server event for a gateway refusal."""
    return jsonutil.dumps({"type": "error", "event_id": f"event_{uuid.uuid4().hex}",
                           "error": {**error.payload()["error"], "event_id": None}}).decode()


def close_code_for(error: GatewayError) -> int:
    """1013 for a limit or an unavailable state backend (come back later), 1011 for the gateway's own failure,
    1008 for any other refusal (a spent budget)."""
    if isinstance(error, RateLimited) or error.status == 503:
        return TRY_AGAIN_LATER
    return INTERNAL_ERROR if error.status >= 500 else POLICY_VIOLATION


def relayed_close(code: int | None) -> int:
    """The code to close the other side with when one side closed with `code`."""
    return INTERNAL_ERROR if code is None or code in UNSENDABLE_CODES else code


class RealtimeConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One realtime session per connection."""

    channel_layer_alias = "no-channel-layer"  # frames go straight upstream: no channel layer per connection
    session: RealtimeSession | None = None
    relay: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        request = realtime_request(self.scope)
        try:
            self.session = await session_open(request)
        except GatewayError as error:
            await self.deny(error)
            return
        await self.accept(subprotocol=request.subprotocol)
        self.relay = asyncio.get_running_loop().create_task(self.relay_upstream(self.session))

    async def deny(self, error: GatewayError) -> None:
        """Refuse the handshake: an HTTP answer with the error body where the server can send one."""
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self.close(code=close_code_for(error))
            return
        headers = [(b"content-type", b"application/json"),
                   *((name.lower().encode(), value.encode()) for name, value in error.headers.items())]
        await self.base_send({"type": "websocket.http.response.start", "status": error.status, "headers": headers})
        await self.base_send({"type": "websocket.http.response.body", "body": jsonutil.dumps(error.payload())})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None:
            return
        with suppress(ConnectionClosed):  # the relay sees the upstream's close and closes the client
            await self.session.upstream.send(text_data if text_data is not None else bytes_data or b"")

    async def relay_upstream(self, session: RealtimeSession) -> None:
        """Upstream frames to the client as they come; each `response.done` billed after it is passed on."""
        try:
            async for frame in session.upstream:
                await self.send(text_data=frame) if isinstance(frame, str) else await self.send(bytes_data=frame)
                usage = done_usage(frame) if isinstance(frame, str) else None
                if usage is not None:
                    await session_bill(session, usage)
        except ConnectionClosed:
            pass
        except GatewayError as refused:  # the next response may not run: the budget is spent, or a limit reached
            await self.end(session, refused)
            return
        except Exception:
            logger.exception("realtime session %s failed", session.session_id)
            await self.end(session, InternalError("The gateway failed to relay this realtime session."))
            return
        await self.close(code=relayed_close(session.upstream.close_code))

    async def end(self, session: RealtimeSession, error: GatewayError) -> None:
        """Tell the client why in an `error` event, then close both sides."""
        await self.send(text_data=error_event(error))
        await session.upstream.close()
        await self.close(code=close_code_for(error), reason=str(error.error_code or "")[:100])

    async def disconnect(self, code: int) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        if self.relay is not None and asyncio.current_task() is not self.relay:
            self.relay.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self.relay
        with suppress(Exception):
            await session.upstream.close(code=relayed_close(code))
        session_end(session)
