"""Fair sharing of a process's in-flight slots between keys, so one key flooding the gateway cannot starve others.

Per process and in memory, keyed by a hash of the credential header as the client sent it: no lookup, no
Redis round trip, nothing stored that could be read back as a key. While fewer than half the slots are
taken every call is admitted; past that, a key may hold at most `capacity // (keys holding slots + 1)`
slots (the `+ 1` keeps room for a key that has none yet), so a newcomer always finds a free one and a
flooder gets 429 while the others keep their latency. A key that already holds more than its share when
others arrive keeps its calls; it just gets no new ones until it is under its share again.
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
    """Counts the slots each credential holds and admits a call only within its fair share once busy."""

    __slots__ = ("capacity", "busy_at", "held", "total")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.busy_at = capacity // 2
        self.held: dict[int, int] = {}
        self.total = 0

    def share(self, *, newcomer: bool) -> int:
        """The slots one key may hold now (at least one)."""
        keys = len(self.held) + (1 if newcomer else 0)
        return max(1, self.capacity // (keys + 1))

    def admit(self, key: int) -> bool:
        """Take a slot for `key`, or False when the process is busy and `key` holds its share already."""
        held = self.held.get(key, 0)
        if self.total >= self.busy_at and held >= self.share(newcomer=held == 0):
            return False
        self.held[key] = held + 1
        self.total += 1
        return True

    def release(self, key: int) -> None:
        """Give back a slot `admit` took for `key`."""
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
