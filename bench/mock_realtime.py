"""The mock upstream's Realtime API: a WebSocket session (RFC 6455 by hand, like the HTTP side) on `/v1/realtime`.

After the upgrade it sends `session.created`; each client `response.create` gets `response.created`, `DELTAS`
`response.audio.delta` frames of `AUDIO_CHARS` base64 characters (paced `interval` seconds apart, as a model
streams audio) and a `response.done` with `USAGE`. Every delta's `event_id` is `evt_<the microsecond it was
sent>`, 16 digits at a fixed place, so the load generator reads each frame's latency without parsing JSON.
Pings get pongs and a close is echoed, as the protocol asks; frames are built from canned bytes.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_KEY = re.compile(rb"\r\nsec-websocket-key:[ \t]*([^\r\n]+)", re.IGNORECASE)
UPGRADE = re.compile(rb"\r\nupgrade:[ \t]*websocket", re.IGNORECASE)
TEXT, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA
MODEL = "gpt-realtime"
DELTAS = 20  # audio frames per response
AUDIO_CHARS = 4096  # base64 characters per delta: 3 KB of 24 kHz PCM16, 64 ms of audio
AUDIO = base64.b64encode(bytes(range(256)) * (AUDIO_CHARS * 3 // 4 // 256)).decode()
STAMP_DIGITS = 16  # microseconds since the epoch, until the year 2286
DELTA_HEAD = b'{"type":"response.audio.delta","event_id":"evt_'
USAGE = {"total_tokens": 112, "input_tokens": 32, "output_tokens": 80,
         "input_token_details": {"text_tokens": 32, "audio_tokens": 0, "cached_tokens": 0},
         "output_token_details": {"text_tokens": 16, "audio_tokens": 64}}


def compact(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def upgrade_answer(head: bytes) -> bytes | None:
    """The 101 answer to a WebSocket upgrade of `/realtime`, or None when `head` is not one."""
    if UPGRADE.search(head) is None:  # first: every plain HTTP request of the bench passes here
        return None
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    match = WS_KEY.search(head)
    if len(parts) < 2 or not parts[1].split(b"?", 1)[0].endswith(b"/realtime") or match is None:
        return None
    accept = base64.b64encode(hashlib.sha1(match.group(1).strip() + GUID).digest())
    return (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
            b"sec-websocket-accept: " + accept + b"\r\n\r\n")


def frame(payload: bytes, opcode: int = TEXT) -> bytes:
    """One unmasked, final server frame."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
    return head + payload


def unmask(mask: bytes, data: bytes) -> bytes:
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


def parse_frames(buffer: bytes) -> tuple[list[tuple[int, bool, bytes]], bytes]:
    """The complete frames at the start of `buffer` as (opcode, final, unmasked payload), and what is left."""
    frames = []
    while len(buffer) >= 2:
        size, at = buffer[1] & 0x7F, 2
        if size >= 126:
            width = 2 if size == 126 else 8
            if len(buffer) < 2 + width:
                break
            size, at = int.from_bytes(buffer[2:2 + width], "big"), 2 + width
        masked = bool(buffer[1] & 0x80)
        end = at + (4 if masked else 0) + size
        if len(buffer) < end:
            break
        payload = buffer[end - size:end]
        frames.append((buffer[0] & 0x0F, bool(buffer[0] & 0x80), unmask(buffer[at:at + 4], payload) if masked
                       else payload))
        buffer = buffer[end:]
    return frames, buffer


def session_created() -> bytes:
    return frame(compact({"type": "session.created", "event_id": "event_bench_session", "session": {
        "id": "sess_bench", "object": "realtime.session", "model": MODEL, "modalities": ["audio", "text"],
        "voice": "alloy", "output_audio_format": "pcm16"}}))


def response_frames(number: int) -> tuple[bytes, bytes, bytes]:
    """`response.created`, the deltas' bytes after their stamp, and `response.done` for response `number`."""
    response_id = f"resp_bench{number}"
    created = frame(compact({"type": "response.created", "event_id": f"event_bench_created{number}", "response": {
        "id": response_id, "object": "realtime.response", "status": "in_progress", "output": [], "usage": None}}))
    delta_tail = (f'","response_id":"{response_id}","item_id":"item_bench{number}","output_index":0,'
                  f'"content_index":0,"delta":"{AUDIO}"}}').encode()
    done = frame(compact({"type": "response.done", "event_id": f"event_bench_done{number}", "response": {
        "id": response_id, "object": "realtime.response", "status": "completed", "status_details": None,
        "output": [{"id": f"item_bench{number}", "object": "realtime.item", "type": "message", "role": "assistant",
                    "status": "completed", "content": [{"type": "audio", "transcript": "Hello from the mock."}]}],
        "usage": USAGE}}))
    return created, delta_tail, done


def delta_frame(tail: bytes) -> bytes:
    return frame(DELTA_HEAD + str(time.time_ns() // 1000).zfill(STAMP_DIGITS).encode() + tail)


class RealtimeSession:
    """One upgraded connection: client frames in, the canned session out."""

    __slots__ = ("transport", "interval", "buffer", "fragments", "tasks", "responses")

    def __init__(self, transport: asyncio.Transport, interval: float) -> None:
        self.transport, self.interval = transport, interval
        self.buffer, self.fragments = b"", b""
        self.tasks: set[asyncio.Task[None]] = set()
        self.responses = 0
        transport.write(session_created())

    def feed(self, data: bytes) -> None:
        frames, self.buffer = parse_frames(self.buffer + data)
        for opcode, final, payload in frames:
            if opcode in (TEXT, CONTINUATION):
                self.fragments += payload
                if final:
                    message, self.fragments = self.fragments, b""
                    self.message(message)
            elif opcode == PING:
                self.transport.write(frame(payload, PONG))
            elif opcode == CLOSE:
                self.transport.write(frame(payload[:2], CLOSE))
                self.transport.close()
                return

    def message(self, message: bytes) -> None:
        if b'"response.create"' in message:
            self.responses += 1
            task = asyncio.get_running_loop().create_task(self.respond(self.responses))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def respond(self, number: int) -> None:
        created, tail, done = response_frames(number)
        self.transport.write(created)
        for _ in range(DELTAS):
            if self.interval:
                await asyncio.sleep(self.interval)
            if self.transport.is_closing():
                return
            self.transport.write(delta_frame(tail))
        self.transport.write(done)

    def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
