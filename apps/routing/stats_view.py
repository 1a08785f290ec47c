"""This process's view of deployments' live numbers, so that routing a call waits on no round trip.

With Redis, reading every candidate's counters before each call put a round trip on the critical path of
every call (a third of the master key's added latency when idle). Instead each process serves routing
from the numbers it last read, refreshed in the background once they are older than REFRESH (one
refresh in flight per event loop), and read before routing only when older than MAX_AGE (an idle
process) or from an earlier minute (rpm and tpm are per minute).

What this process does itself is applied to the view at once: the requests and tokens it counts, its
in-flight calls and the cooldowns it starts. So one process never overshoots a deployment's rpm/tpm on
a stale view; other replicas' calls and cooldowns reach it with the next refresh: within REFRESH plus
one call's gap, and at worst MAX_AGE.

With the in-process state backend (embedded mode) a read costs no more than a dict lookup: no view.
"""
from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies.base import DeploymentStats

REFRESH = 0.05  # seconds: an older view is refreshed in the background (at most 20 reads per second)
MAX_AGE = 1.0  # seconds: an older view (or one from an earlier minute) is read before routing

Reader = Callable[[Sequence[DeploymentRecord], float], Awaitable[dict[str, DeploymentStats]]]


@dataclass(slots=True)
class LocalChanges:
    """What this process added to a deployment's counters since its last read was sent."""

    minute: int
    requests: float = 0.0
    tokens: float = 0.0
    in_flight: float = 0.0

    def applied_to(self, stats: DeploymentStats, minute: int) -> DeploymentStats:
        same_minute = minute == self.minute
        # Built directly rather than with dataclasses.replace (which reads the fields each time): twice per call.
        return DeploymentStats(
            in_flight=max(stats.in_flight + self.in_flight, 0.0),
            requests_this_minute=stats.requests_this_minute + (self.requests if same_minute else 0.0),
            tokens_this_minute=stats.tokens_this_minute + (self.tokens if same_minute else 0.0),
            latency_per_token=stats.latency_per_token, time_to_first_token=stats.time_to_first_token,
            cooldown_until=stats.cooldown_until)


@dataclass(slots=True)
class Seen:
    """One deployment's numbers as last read (plus local changes since), and when that read was sent."""

    stats: DeploymentStats
    sent_at: float  # time.monotonic() when the read was sent
    minute: int


@dataclass
class StatsView:
    """Routing's numbers for every deployment this process has routed to."""

    read: Reader
    seen: dict[str, Seen] = field(default_factory=dict)
    changes: dict[str, LocalChanges] = field(default_factory=dict)
    refreshing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = field(
        default_factory=weakref.WeakKeyDictionary)

    async def stats(self, deployments: Sequence[DeploymentRecord], *, now: float, minute: int
                    ) -> dict[str, DeploymentStats]:
        """Every deployment's numbers: from the view when it is recent enough, else read first."""
        clock = time.monotonic()
        oldest = clock
        for deployment in deployments:
            seen = self.seen.get(deployment.id)
            if seen is None or seen.minute != minute:
                oldest = -1.0
                break
            oldest = min(oldest, seen.sent_at)
        if clock - oldest > MAX_AGE:
            await self.refresh(deployments, now=now, minute=minute)
        elif clock - oldest > REFRESH:
            self.refresh_soon(deployments, now=now, minute=minute)
        return {d.id: _cooling_now(self.seen[d.id].stats, now) for d in deployments}

    async def refresh(self, deployments: Sequence[DeploymentRecord], *, now: float, minute: int) -> None:
        """Read the deployments' numbers and keep them, with what this process changed since sending."""
        sent_at = time.monotonic()
        for deployment in deployments:
            self.changes[deployment.id] = LocalChanges(minute)
        found = await self.read(deployments, now)
        for deployment in deployments:
            stats = self.changes[deployment.id].applied_to(found[deployment.id], minute)
            seen = self.seen.get(deployment.id)
            if seen is not None and seen.stats.cooldown_until > stats.cooldown_until and seen.minute == minute:
                stats = replace(stats, cooldown_until=seen.stats.cooldown_until)  # one this process just started
            self.seen[deployment.id] = Seen(stats, sent_at, minute)

    def refresh_soon(self, deployments: Sequence[DeploymentRecord], *, now: float, minute: int) -> None:
        loop = asyncio.get_running_loop()
        running = self.refreshing.get(loop)
        if running is not None and not running.done():
            return
        task = loop.create_task(self.refresh(deployments, now=now, minute=minute))
        task.add_done_callback(_quiet)
        self.refreshing[loop] = task

    def counted(self, deployment_id: str, *, minute: int, requests: float = 0.0, tokens: float = 0.0,
                in_flight: float = 0.0) -> None:
        """This process counted requests, tokens or in-flight calls against the deployment."""
        change = self.changes.get(deployment_id)
        if change is not None:
            if change.minute != minute:
                change.minute, change.requests, change.tokens = minute, 0.0, 0.0
            change.requests += requests
            change.tokens += tokens
            change.in_flight += in_flight
        seen = self.seen.get(deployment_id)
        if seen is not None:
            step = LocalChanges(minute, requests=requests, tokens=tokens, in_flight=in_flight)
            seen.stats = step.applied_to(seen.stats, seen.minute)

    def cooled(self, deployment_id: str, until: float) -> None:
        """This process started (or extended) the deployment's cooldown."""
        seen = self.seen.get(deployment_id)
        if seen is not None and until > seen.stats.cooldown_until:
            seen.stats = replace(seen.stats, cooldown_until=until)

    def forget(self) -> None:
        """Drop the view (tests that change the shared numbers behind the process's back)."""
        self.seen.clear()
        self.changes.clear()


def _cooling_now(stats: DeploymentStats, now: float) -> DeploymentStats:
    """A cooldown that has ended since the read no longer counts."""
    return stats if not stats.cooldown_until or stats.cooldown_until > now else replace(stats, cooldown_until=0.0)


def _quiet(task: asyncio.Task[None]) -> None:
    """A failed background refresh is not an error: the next call reads again (and reports it if it fails)."""
    if not task.cancelled():
        task.exception()
