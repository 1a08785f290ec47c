"""What every search twin shares: planned replies (errors, stalls) before the provider's own answer."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable

from tests.upstreams.recording import Recorded, RecordingServer, Reply


class SearchTwin(RecordingServer):
    """`reply_with(...)` answers the next requests with those replies, then the twin answers as the provider."""

    def __init__(self, respond: Callable[[Recorded], Reply]) -> None:
        self.planned: deque[Reply] = deque()
        self.provider_respond = respond
        super().__init__(self.dispatch)

    def reply_with(self, *replies: Reply) -> None:
        self.planned.extend(replies)

    def dispatch(self, request: Recorded) -> Reply:
        if self.planned:
            return self.planned.popleft()
        return self.provider_respond(request)

    def reset(self) -> None:
        super().reset()
        self.planned.clear()


def one(request: Recorded, name: str) -> str:
    """The single value of a query-string parameter (the twin rejects a missing or repeated one)."""
    values = request.query.get(name)
    assert values is not None and len(values) == 1, f"query parameter {name!r} must be sent once, got {values}"
    return values[0]
