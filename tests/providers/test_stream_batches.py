"""Stream chunks are grouped by the upstream read that brought them, and each group is one write to the client."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import orjson

from apps.core.responses import DONE
from apps.providers.adapters.openai import OpenAIAdapter
from apps.providers.base import Target
from apps.providers.transport import ChatStream
from apps.routing.streaming import sse_events


def event(content: str) -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class Reads:
    """An upstream response that arrives in the given network reads."""

    status_code = 200
    headers: Mapping[str, str] = {"content-type": "text/event-stream"}

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads
        self.closed = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for data in self.reads:
            yield data

    async def read(self) -> bytes:
        return b"".join(self.reads)

    async def aclose(self) -> None:
        self.closed = True


def stream(reads: list[bytes]) -> ChatStream:
    return ChatStream(OpenAIAdapter(), Target(provider="openai", model="m"), Reads(reads))


async def test_batches_follow_the_reads_and_split_events_are_joined() -> None:
    one, two, three, four = event("a"), event("b"), event("c"), event("d")
    reads = [one + two + three, four[:10], four[10:] + b"data: [DONE]\n\n"]
    batches = [[c.body["choices"][0]["delta"]["content"] for c in batch] async for batch in stream(reads).batches()]
    assert batches == [["a", "b", "c"], ["d"]]


async def test_chunks_still_come_one_by_one() -> None:
    reads = [event("a") + event("b"), event("c")]
    contents = [c.body["choices"][0]["delta"]["content"] async for c in stream(reads).chunks()]
    assert contents == ["a", "b", "c"]


async def test_one_client_write_per_upstream_read() -> None:
    reads = [event("a") + event("b") + event("c"), event("d")]
    writes = [w async for w in sse_events(stream(reads), include_usage=False)]
    assert len(writes) == 3
    assert writes[0].count(b"data: ") == 3 and writes[1].count(b"data: ") == 1
    assert writes[-1] == DONE
    assert [orjson.loads(line[6:])["choices"][0]["delta"]["content"]
            for w in writes[:-1] for line in w.split(b"\n\n") if line] == ["a", "b", "c", "d"]


async def test_chunks_read_together_with_an_error_event_reach_the_client_before_the_error() -> None:
    error = b'data: {"error": {"message": "overloaded mid-way", "type": "server_error"}}\n\n'
    events = [e async for e in sse_events(stream([event("a") + event("b") + error + event("never")]),
                                          include_usage=False)]
    assert b'"a"' in events[0] and b'"b"' in events[0]
    assert b"overloaded mid-way" in events[-1] and len(events) == 2
    assert all(b"never" not in e and DONE not in e for e in events)
