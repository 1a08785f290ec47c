"""Live per-deployment numbers in the state backend: in-flight calls, usage this minute, latency, cooldowns.

With `REDIS_URL` these are shared by every gateway process, so limits and cooldowns hold across replicas.
Writes happen only for what the policy needs: usage counters for deployments with rpm/tpm (or the
usage-based strategy), in-flight counts for least-busy, latency averages for latency-based.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from apps.core.state import state
from apps.providers.base import UpstreamError
from apps.routing.error_kinds import error_kind
from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord
from apps.routing.stats_view import StatsView
from apps.routing.strategies.base import DeploymentStats

MINUTE = 60.0
USAGE_TTL = 2 * MINUTE
BUSY_TTL = 15 * MINUTE  # a process that dies mid-call leaks its in-flight count for at most this long
LATENCY_TTL = 60 * MINUTE
COOLS_AT_ONCE = frozenset({401, 404, 429})  # rate-limited, bad key, no such model: do not keep hitting it
FIELDS = ("cooldown:", "route:busy:", "route:rpm:", "route:tpm:", "route:lat:", "route:ttft:")


def minute_of(now: float) -> int:
    return int(now // MINUTE)


def stat_keys(deployment_id: str, minute: int) -> list[str]:
    """The state keys of one deployment, in FIELDS order (usage keys are per wall-clock minute)."""
    return [f"cooldown:{deployment_id}", f"route:busy:{deployment_id}", f"route:rpm:{deployment_id}:{minute}",
            f"route:tpm:{deployment_id}:{minute}", f"route:lat:{deployment_id}", f"route:ttft:{deployment_id}"]


async def read_stats(deployments: Sequence[DeploymentRecord], *, now: float) -> dict[str, DeploymentStats]:
    """Every deployment's live numbers for routing: this process's view of them with a shared backend."""
    if state().in_process:
        return await stats_from_backend(deployments, now)
    return await stats_view.stats(deployments, now=now, minute=minute_of(now))


async def stats_from_backend(deployments: Sequence[DeploymentRecord], now: float) -> dict[str, DeploymentStats]:
    """Every deployment's live numbers as the state backend holds them, in one round trip."""
    minute = minute_of(now)
    keys = [key for d in deployments for key in stat_keys(d.id, minute)]
    found = await state().values(keys)
    stats = {}
    for index, deployment in enumerate(deployments):
        cooldown, busy, rpm, tpm, latency, ttft = found[index * len(FIELDS):(index + 1) * len(FIELDS)]
        stats[deployment.id] = DeploymentStats(
            in_flight=max(busy or 0.0, 0.0), requests_this_minute=rpm or 0.0, tokens_this_minute=tpm or 0.0,
            latency_per_token=latency, time_to_first_token=ttft,
            cooldown_until=cooldown if cooldown and cooldown > now else 0.0)
    return stats


stats_view = StatsView(read=stats_from_backend)


def over_limit(deployment: DeploymentRecord, numbers: DeploymentStats) -> bool:
    """True when the deployment used its rpm or tpm for this minute."""
    if deployment.rpm is not None and numbers.requests_this_minute >= deployment.rpm:
        return True
    return deployment.tpm is not None and numbers.tokens_this_minute >= deployment.tpm


@dataclass(frozen=True, slots=True)
class Tracking:
    """Which live numbers one call keeps up to date."""

    usage: bool
    busy: bool
    latency: bool

    @classmethod
    def for_call(cls, deployment: DeploymentRecord, policy: RouterPolicy) -> Tracking:
        return cls(usage=bool(deployment.rpm or deployment.tpm) or policy.strategy == "usage-based",
                   busy=policy.strategy == "least-busy", latency=policy.strategy == "latency-based")


async def attempt_started(deployment: DeploymentRecord, tracking: Tracking, *, now: float) -> None:
    """Count the request against this minute's rpm and the in-flight gauge."""
    items = []
    minute = minute_of(now)
    if tracking.usage:
        items.append((f"route:rpm:{deployment.id}:{minute}", 1.0, USAGE_TTL))
    if tracking.busy:
        items.append((f"route:busy:{deployment.id}", 1.0, BUSY_TTL))
    if items:
        state().add_soon(items)  # sent with the process's next round trip: limits hold to within a few ms
        stats_view.counted(deployment.id, minute=minute, requests=1.0 if tracking.usage else 0.0,
                           in_flight=1.0 if tracking.busy else 0.0)


async def attempt_finished(deployment: DeploymentRecord, tracking: Tracking, *, tokens: int) -> None:
    """Release the in-flight slot and count the tokens against this minute's tpm."""
    items = []
    minute = minute_of(time.time())
    if tracking.usage and tokens:
        items.append((f"route:tpm:{deployment.id}:{minute}", float(tokens), USAGE_TTL))
    if tracking.busy:
        items.append((f"route:busy:{deployment.id}", -1.0, BUSY_TTL))
    if items:
        state().add_soon(items)
        stats_view.counted(deployment.id, minute=minute, tokens=float(tokens) if tracking.usage else 0.0,
                           in_flight=-1.0 if tracking.busy else 0.0)


async def latency_record(deployment_id: str, *, seconds: float, tokens: int, stream: bool, weight: float) -> None:
    """Fold one call's latency into the moving averages latency-based routing reads."""
    if stream:
        await state().average(f"route:ttft:{deployment_id}", seconds, weight=weight, ttl=LATENCY_TTL)
    else:
        await state().average(f"route:lat:{deployment_id}", seconds / max(tokens, 1), weight=weight, ttl=LATENCY_TTL)


def counts_as_failure(error: UpstreamError) -> bool:
    """Failures that say something about the deployment (not about the request)."""
    return error.retryable or error.upstream_status in COOLS_AT_ONCE


async def failure_record(deployment: DeploymentRecord, error: UpstreamError, *, policy: RouterPolicy,
                         group_size: int) -> float | None:
    """Count a failure; cool the deployment down when it calls for it. The cooldown deadline, if any.

    The only deployment of a group is never cooled: that would turn one upstream hiccup into a
    gateway-wide outage for the group. Its callers get backoff and Retry-After instead.
    """
    if policy.disable_cooldowns or group_size <= 1:
        return None
    allowed = policy.allowed_fails_policy.get(error_kind(error) or "")
    if allowed is not None:  # LiteLLM's AllowedFailsPolicy: this kind cools at its (allowed + 1)th fail in a minute
        (fails,) = await state().add([(f"route:fails:{deployment.id}", 1.0, MINUTE)])
        return await cooldown_start(deployment.id, policy.cooldown_time) if fails > allowed else None
    if not counts_as_failure(error):
        return None
    if error.upstream_status in COOLS_AT_ONCE:
        return await cooldown_start(deployment.id, max(policy.cooldown_time, error.retry_after or 0.0))
    (fails,) = await state().add([(f"route:fails:{deployment.id}", 1.0, MINUTE)])
    if fails >= policy.allowed_fails:
        return await cooldown_start(deployment.id, policy.cooldown_time)
    return None


async def cooldown_start(deployment_id: str, seconds: float) -> float:
    """Cool the deployment down everywhere, and at once in this process's view."""
    until = await state().cooldown_start(deployment_id, seconds)
    stats_view.cooled(deployment_id, until)
    return until
