"""The latency probe: a tiny call to each deployment, timed; results feed latency routing and cooldowns.

Pure async over the routing records and the state backend; the service stores the results.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, UpstreamError
from apps.providers.registry import adapter_for
from apps.routing import runtime
from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord

PROBE_TEXT = "ping"
PROBE_CONCURRENCY = 8
# model_info flags that turn the probe off (LiteLLM's name, ours, and "this model costs too much to ping").
OPT_OUT = ("disable_health_probe", "disable_background_health_check", "expensive")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: healthy or not, how long it took, and the upstream's error when it failed."""

    deployment_id: str
    healthy: bool
    latency: float | None
    error: str = ""
    status_code: int | None = None


def probe_enabled(record: DeploymentRecord) -> bool:
    """False for deployments whose model_info opts out, and for wildcard groups (no model to ask)."""
    return not any(record.model_info.get(flag) for flag in OPT_OUT) and "*" not in record.target.model


async def _call(record: DeploymentRecord, timeout: float) -> int:
    """Send the probe; the completion tokens it produced."""
    target = replace(record.target, timeout=min(record.target.timeout, timeout))
    adapter = adapter_for(target.provider)
    if record.model_info.get("mode") == "embedding":
        await transport.send_embedding(adapter, EmbeddingCall(model=record.model_name, input=PROBE_TEXT), target)
        return 0
    call = ChatCall(model=record.model_name, messages=[{"role": "user", "content": PROBE_TEXT}],
                    params={"max_tokens": 1})
    answer = await transport.send_chat(adapter, call, target)
    return answer.usage.completion_tokens


async def probe_one(record: DeploymentRecord, *, policy: RouterPolicy, group_size: int, timeout: float) -> ProbeResult:
    """Probe one deployment and feed the result to routing (latency average, failure count, cooldown)."""
    started = time.monotonic()
    try:
        tokens = await _call(record, timeout)
    except UpstreamError as error:
        await runtime.failure_record(record, error, policy=policy, group_size=group_size)
        return ProbeResult(record.id, healthy=False, latency=None, error=error.message[:500],
                           status_code=error.upstream_status)
    elapsed = time.monotonic() - started
    await runtime.latency_record(record.id, seconds=elapsed, tokens=tokens, stream=False, weight=policy.latency_weight)
    await runtime.latency_record(record.id, seconds=elapsed, tokens=tokens, stream=True, weight=policy.latency_weight)
    return ProbeResult(record.id, healthy=True, latency=elapsed)


async def probe_all(records: Sequence[DeploymentRecord], *, policy: RouterPolicy, group_sizes: dict[str, int],
                    timeout: float) -> list[ProbeResult]:
    """Probe every deployment that allows it, a few at a time."""
    gate = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def guarded(record: DeploymentRecord) -> ProbeResult:
        async with gate:
            return await probe_one(record, policy=policy, group_size=group_sizes.get(record.model_name, 1),
                                   timeout=timeout)

    return list(await asyncio.gather(*(guarded(r) for r in records if probe_enabled(r))))


async def probe_in_own_loop(records: Sequence[DeploymentRecord], *, policy: RouterPolicy,
                            group_sizes: dict[str, int], timeout: float) -> list[ProbeResult]:
    """`probe_all` for a loop made for it (a Celery task): its pooled client is closed at the end."""
    try:
        return await probe_all(records, policy=policy, group_sizes=group_sizes, timeout=timeout)
    finally:
        await transport.close_all()
