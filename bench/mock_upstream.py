"""A fast mock OpenAI upstream: a raw asyncio.Protocol HTTP/1.1 server with keep-alive and canned answers.

It must never be what limits a benchmark, so it does the least work that still speaks HTTP/1.1 correctly:
one buffer per connection, pipelined requests answered in order, `Content-Length` bodies, and canned
bytes built once at start. A body containing `"stream":true` gets the SSE variant (role, content deltas,
finish, usage, `[DONE]`) as one chunked response; anything else on `/chat/completions` gets the
`chat.completion` JSON, `/search` a Perplexity search answer, and `/responses` a Responses API `response`
(non-streamed), its id numbered per answer as a provider's ids are unique. A WebSocket upgrade of
`/v1/realtime` becomes a Realtime API session (`bench.mock_realtime`) on the same connection. Run it with
`python -m bench.mock_upstream --port 0`; it prints `READY <port>`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys

from bench import mock_realtime

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)
STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
MAX_HEADER_BYTES = 64 * 1024
REPLY_WORDS = ("This", " is", " a", " canned", " answer", " from", " the", " mock.")
USAGE = {"prompt_tokens": 12, "completion_tokens": len(REPLY_WORDS), "total_tokens": 12 + len(REPLY_WORDS)}
MODEL = "gpt-4o-mini"
# A model streams audio faster than it plays (64 ms per delta) but not all at once: the realtime rows measure relayed
# frames at this pace, not a burst queued behind itself.
REALTIME_INTERVAL_MS = 10.0


def completion_body() -> bytes:
    """The canned non-streamed `chat.completion` answer."""
    message = {"role": "assistant", "content": "".join(REPLY_WORDS), "refusal": None}
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": USAGE, "system_fingerprint": "fp_bench"}, separators=(",", ":")).encode()


def stream_events() -> list[bytes]:
    """The canned SSE events: role, one delta per word, finish, usage, [DONE]."""
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL}

    def event(choices: list[dict[str, object]], **extra: object) -> bytes:
        return b"data: " + json.dumps({**head, "choices": choices, **extra}, separators=(",", ":")).encode() + b"\n\n"

    events = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    events += [event([{"index": 0, "delta": {"content": w}, "finish_reason": None}]) for w in REPLY_WORDS]
    events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(event([], usage=USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


def response_body(number: int) -> bytes:
    """The canned Responses API answer, with its own id."""
    return (b'{"id":"resp_bench%d","object":"response","created_at":1700000000,"status":"completed","model":"'
            % number + MODEL.encode() + b"\"" + RESPONSE_REST)


RESPONSE_REST = json.dumps({
    "output": [{"type": "message", "id": "msg_bench", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(REPLY_WORDS), "annotations": []}]}],
    "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": len(REPLY_WORDS),
              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12 + len(REPLY_WORDS)}},
    separators=(",", ":")).encode().replace(b"{", b",", 1)
RESPONSE_NUMBERS = iter(range(1, 1 << 62))


def http_response(status: str, content_type: bytes, body: bytes) -> bytes:
    return (b"HTTP/1.1 " + status.encode() + b"\r\ncontent-type: " + content_type
            + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\nconnection: keep-alive\r\n\r\n" + body)


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


COMPLETION = http_response("200 OK", b"application/json", completion_body())
STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
               b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")
STREAM_CHUNKS = [chunked(e) for e in stream_events()]
STREAM_END = b"0\r\n\r\n"
STREAM = STREAM_HEAD + b"".join(STREAM_CHUNKS) + STREAM_END
MODELS = http_response("200 OK", b"application/json", json.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "bench"}]},
    separators=(",", ":")).encode())
# A Perplexity-shaped `/search` answer, for the gateway's search tool (`/v1/search`).
SEARCH = http_response("200 OK", b"application/json", json.dumps({"id": "search-bench", "results": [
    {"title": f"Bench result {i}", "url": f"https://bench.example/{i}", "snippet": "A canned search result.",
     "date": "2024-01-01", "last_updated": "2024-06-01"} for i in range(5)]}, separators=(",", ":")).encode())
NOT_FOUND = http_response("404 Not Found", b"application/json",
                          b'{"error":{"message":"no such route","type":"invalid_request_error","param":null,"code":null}}')
LENGTH_REQUIRED = http_response("411 Length Required", b"application/json",
                                b'{"error":{"message":"send content-length","type":"invalid_request_error",'
                                b'"param":null,"code":null}}')


IMAGES = http_response("200 OK", b"application/json", json.dumps(
    {"created": 1700000000, "data": [{"b64_json": "iVBORw0KGgo" + "A" * 1000}]}, separators=(",", ":")).encode())
TRANSCRIPT = http_response("200 OK", b"application/json", json.dumps(
    {"text": "Hello from the benchmark.", "usage": {"type": "duration", "seconds": 1}},
    separators=(",", ":")).encode())
SPEECH = http_response("200 OK", b"audio/mpeg", b"ID3" + b"\xff\xfb" * 8000)  # about 16 KB of "audio"
MEDIA_ANSWERS = ((b"/images/generations", IMAGES), (b"/audio/transcriptions", TRANSCRIPT), (b"/audio/speech", SPEECH))
# Legacy text completions, OpenAI moderations and Cohere's v2 rerank, for their rows beside chat.
TEXT_COMPLETION = http_response("200 OK", b"application/json", json.dumps({
    "id": "cmpl-bench", "object": "text_completion", "created": 1700000000, "model": MODEL,
    "choices": [{"text": "".join(REPLY_WORDS), "index": 0, "logprobs": None, "finish_reason": "stop"}],
    "usage": USAGE}, separators=(",", ":")).encode())
MODERATION = http_response("200 OK", b"application/json", json.dumps({
    "id": "modr-bench", "model": "omni-moderation-latest", "results": [{
        "flagged": False, "categories": {"harassment": False, "violence": False},
        "category_scores": {"harassment": 0.0001, "violence": 0.0002}}]}, separators=(",", ":")).encode())
RERANK = http_response("200 OK", b"application/json", json.dumps({
    "id": "rerank-bench", "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}],
    "meta": {"billed_units": {"search_units": 1}}}, separators=(",", ":")).encode())
OTHER_ANSWERS = ((b"/completions", TEXT_COMPLETION), (b"/moderations", MODERATION), (b"/rerank", RERANK))


def answer(head: bytes, body: bytes) -> bytes:
    """The canned response bytes for one request (head is the request line plus headers)."""
    line_end = head.find(b"\r\n")
    request_line = head[:line_end if line_end >= 0 else len(head)]
    parts = request_line.split(b" ")
    path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
    if path.endswith(b"/chat/completions"):
        return STREAM if STREAM_FLAG.search(body) else COMPLETION
    if path.endswith(b"/models"):
        return MODELS
    if path.endswith(b"/search"):
        return SEARCH
    if path.endswith(b"/responses"):
        return http_response("200 OK", b"application/json", response_body(next(RESPONSE_NUMBERS)))
    for suffix, canned in (*MEDIA_ANSWERS, *OTHER_ANSWERS):
        if path.endswith(suffix):
            return canned
    return NOT_FOUND


class MockProtocol(asyncio.Protocol):
    """One connection: parse pipelined requests out of one buffer and write canned answers."""

    __slots__ = ("transport", "buffer", "stream_interval", "realtime_interval", "realtime")

    def __init__(self, stream_interval: float = 0.0, realtime_interval: float = 0.0) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.stream_interval = stream_interval
        self.realtime_interval = realtime_interval
        self.realtime: mock_realtime.RealtimeSession | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.realtime is not None:
            self.realtime.stop()

    def data_received(self, data: bytes) -> None:
        if self.realtime is not None:
            self.realtime.feed(data)
            return
        buffer = self.buffer + data if self.buffer else data
        out: list[bytes] = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEADER_BYTES:
                    self.transport.close()  # type: ignore[union-attr]
                    return
                break
            head = buffer[:end]
            upgraded = mock_realtime.upgrade_answer(head)
            if upgraded is not None:
                self.upgrade(b"".join(out) + upgraded, buffer[end + 4:])
                return
            match = CONTENT_LENGTH.search(head)
            if match is None and CHUNKED.search(head):
                out.append(LENGTH_REQUIRED)
                buffer = b""
                break
            length = int(match.group(1)) if match else 0
            total = end + 4 + length
            if len(buffer) < total:
                break
            reply = answer(head, buffer[end + 4:total])
            if reply is STREAM and self.stream_interval > 0:
                asyncio.ensure_future(self._paced_stream())  # one slow stream per connection at a time
            else:
                out.append(reply)
            buffer = buffer[total:]
        self.buffer = buffer
        if out:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))  # type: ignore[union-attr]

    def upgrade(self, answer: bytes, rest: bytes) -> None:
        """Answer the WebSocket upgrade and hand the connection to a realtime session."""
        assert self.transport is not None
        self.transport.write(answer)
        self.buffer = b""
        self.realtime = mock_realtime.RealtimeSession(self.transport, self.realtime_interval)
        if rest:
            self.realtime.feed(rest)

    async def _paced_stream(self) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(STREAM_HEAD)
        for chunk in STREAM_CHUNKS:
            if transport.is_closing():
                return
            transport.write(chunk)
            await asyncio.sleep(self.stream_interval)
        transport.write(STREAM_END)


async def serve(*, host: str, port: int, stream_interval: float = 0.0, realtime_interval: float = 0.0,
                reuse_port: bool = False) -> asyncio.AbstractServer:
    """Start listening and return the server (its port is in `server.sockets[0]`)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: MockProtocol(stream_interval, realtime_interval), host, port,
                                    backlog=4096, reuse_port=reuse_port)


async def main_async(args: argparse.Namespace) -> None:
    server = await serve(host=args.host, port=args.port, stream_interval=args.stream_interval_ms / 1000,
                         realtime_interval=args.realtime_interval_ms / 1000, reuse_port=args.reuse_port)
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    print(f"READY {port} pid={os.getpid()}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stream-interval-ms", type=float, default=0.0, help="pause between SSE events")
    parser.add_argument("--realtime-interval-ms", type=float, default=REALTIME_INTERVAL_MS,
                        help="pause between a realtime response's audio deltas")
    parser.add_argument("--reuse-port", action="store_true", help="allow several processes on one port")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # plain asyncio still does tens of thousands of calls/s
        asyncio.run(main_async(args))
    else:
        uvloop.run(main_async(args))
    sys.exit(0)


if __name__ == "__main__":
    main()
