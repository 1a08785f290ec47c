"""Calls per second for the dashboard's live feed: per-second counters in the state backend.

Every gateway process counts its finished and refused calls under the current second's key (`add_soon`:
coalesced in memory and sent with the process's next round trip, so a call costs a dict update, not a
command). A reader sums what every replica counted, second by second, with one MGET.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from apps.core.state import state

FEED_TTL = 180.0  # seconds a second's counters are kept: longer than any feed looks back
KINDS = ("calls", "errors", "refused")


def feed_key(kind: str, second: int, team_id: str | None = None) -> str:
    """The counter of one kind and second: every call's, or one team's."""
    return f"feed:{kind}:{second}" if team_id is None else f"feed:{kind}:{second}:{team_id}"


def feed_count(kind: str, team_id: str | None) -> None:
    """Count one `kind` event now, overall and for its team (never raises: billing must not depend on it)."""
    second = int(time.time())
    items = [(feed_key(kind, second), 1.0, FEED_TTL)]
    if team_id is not None:
        items.append((feed_key(kind, second, team_id), 1.0, FEED_TTL))
    try:
        state().add_soon(items)
    except RuntimeError:  # no running event loop (a sync caller): the feed misses it, the spend row does not
        return


@dataclass(frozen=True, slots=True)
class FeedSecond:
    """What all processes counted in one second."""

    second: int
    calls: int
    errors: int
    refused: int


async def feed_seconds(*, last: int, team_ids: frozenset[str] | None = None, now: float | None = None) -> list[FeedSecond]:
    """The `last` whole seconds before now, oldest first (the current second is still being counted): every
    call's counts, or only those of `team_ids`."""
    end = int(now if now is not None else time.time())
    seconds = list(range(end - last, end))
    teams: list[str | None] = [None] if team_ids is None else [*sorted(team_ids)]
    keys = [feed_key(kind, second, team) for second in seconds for kind in KINDS for team in teams]
    values = [int(value or 0) for value in await state().values(keys)] if keys else []
    width = len(KINDS) * len(teams)
    result = []
    for i, second in enumerate(seconds):
        row = values[i * width:(i + 1) * width]
        calls, errors, refused = (sum(row[k * len(teams):(k + 1) * len(teams)]) for k in range(len(KINDS)))
        result.append(FeedSecond(second, calls, errors, refused))
    return result
