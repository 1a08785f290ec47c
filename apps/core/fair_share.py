"""Fair sharing of a process's in-flight slots between keys, so one key flooding the gateway cannot starve others.

Per process and in memory, keyed by a hash of the credential header as the client sent it: no lookup, no
Redis round trip, nothing stored that could be read back as a key. While fewer than half the slots are
taken every call is admitted. Past that, a key that holds slots may hold at most its share: all the slots but
a small reserve, split evenly between the keys holding slots. A lone key therefore keeps almost the whole
process (sharing costs it only the reserve), a key holding no slot always finds one in the reserve, and once
it does, the flooder's share halves: the flooder gets 429 while the others keep their latency (a lone key past
its share gets the 503 of a full process: nobody else is there to be fair to). A key that
holds more than its share when others arrive keeps its calls; it gets no new ones until it is under again.
"""
from __future__ import annotations

from typing import Any

import orjson

CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"api-key")
RETRY_AFTER_SECONDS = 1


def credential_of(headers: list[tuple[bytes, bytes]]) -> int:
    """A cheap hash of the request's credential header (Python's per-process salted hash), 0 without one."""
    for name, value in headers:
        if name in CREDENTIAL_HEADERS:
            return hash(value)
    return 0


class FairShare:
    """Counts the slots each credential holds and says when a key is over its fair share of a busy process."""

    __slots__ = ("capacity", "busy_at", "reserve", "held", "total")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.busy_at = capacity // 2
        self.reserve = max(1, capacity // 8)  # kept for keys that hold no slot
        self.held: dict[int, int] = {}
        self.total = 0

    def share(self) -> int:
        """The slots a key already holding some may hold now (at least one)."""
        return max(1, (self.capacity - self.reserve) // max(1, len(self.held)))

    def over_share(self, key: int) -> bool:
        """Whether `key` must be refused: the process is busy and the key holds its share already."""
        held = self.held.get(key, 0)
        return held > 0 and self.total >= self.busy_at and held >= self.share()

    def contended(self) -> bool:
        """Whether more than one key holds slots (a lone key over its share has the process to itself: it is full
        for that key, not unfair to it)."""
        return len(self.held) > 1

    def take(self, key: int) -> None:
        self.held[key] = self.held.get(key, 0) + 1
        self.total += 1

    def release(self, key: int) -> None:
        """Give back a slot `take` took for `key`."""
        held = self.held[key] - 1
        if held:
            self.held[key] = held
        else:
            del self.held[key]
        self.total -= 1


def over_share_answer(share: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 429's two ASGI messages, in OpenAI's error shape, with Retry-After."""
    body = orjson.dumps({"error": {
        "message": f"The gateway is busy and this key already has its fair share of it in flight ({share} calls); "
                   "retry after the Retry-After delay.",
        "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}})
    start = {"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}
