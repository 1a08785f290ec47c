"""Each gateway process's own copy of the spend records it pushed to Redis, until the flusher has stored them.

Redis is not a journal: restarted without persistence, or failed over to a replica that missed the last writes,
it forgets buffered spend records the flusher had not stored yet. So delivery is at least once, and storing is
idempotent on (request_id, attempt) (SpendLog's unique constraint; a repeated record is skipped, its cost not
added again):
- Every push is one script (PUSH in redis.py) that appends the records to the buffer and counts them in
  `pushed`, a running total: the records get positions `pushed - n + 1 .. pushed`. It answers the buffer's run
  id (a random id set when the buffer's keys are first written), that total and `acked`.
- The flusher trims stored records off the buffer's head and adds their count to `acked` in one script, so
  every record at a position up to `acked` is in the database.
- This journal (one per event loop) keeps the records it pushed with their positions, drops those at or below
  `acked`, and gives back for pushing again every record Redis no longer has: all of them when the run id changed
  (Redis came back empty and a new id was set), or those past `pushed - n` when the total went backwards (a
  replica that missed writes: replication keeps their order, so it lost a suffix).
While it holds records, the loop asks for the counters about once a second even with no calls (`CHECK_EVERY`),
so an idle process notices a lost buffer too. It holds at most `limit` records (TOLLGATE_SPEND_JOURNAL_MAX); past
that the oldest are forgotten, counted in `forgotten` (the flusher is far behind; they are still in Redis).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from apps.core.jsonutil import kept

CHECK_EVERY = 1.0  # seconds between counter checks while records wait for the flusher


class SpendJournal:
    """One event loop's pushed, not yet stored spend records, with their buffer positions (ascending)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held: deque[tuple[int, bytes]] = deque()
        self.run: bytes | None = None
        self.forgotten = 0
        self.pushed_at = 0.0  # loop time of the last push or check (the idle check's clock)
        self.checking = False  # the idle check is scheduled

    def confirm(self, records: Sequence[bytes], *, run: bytes, total: int, acked: int) -> list[bytes]:
        """Take a push's answer (`records` were just appended, making the total `total`); the records Redis lost,
        oldest first, which the caller pushes again."""
        base = total - len(records)
        lost: list[bytes] = []
        if self.run is not None and run != self.run:
            lost = [record for _, record in self.held]
            self.held.clear()
        else:
            while self.held and self.held[-1][0] > base:
                lost.append(self.held.pop()[1])
            lost.reverse()
        self.run = run
        self.held.extend((base + offset, kept(record)) for offset, record in enumerate(records, start=1))
        while self.held and self.held[0][0] <= acked:
            self.held.popleft()
        while len(self.held) > self.limit:
            self.held.popleft()
            self.forgotten += 1
        return lost

    def records(self) -> list[bytes]:
        """Every record still waiting to be confirmed, oldest first."""
        return [record for _, record in self.held]
