"""The admin's "test this deployment": one tiny chat call to one deployment, with its answer and latency."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, UpstreamError
from apps.providers.registry import adapter_for
from apps.routing.models import Deployment
from apps.routing.policy import policy_from_settings
from apps.routing.snapshot import DeploymentRecord, record_for, router_settings_dict

TEST_PROMPT = "Reply with one short greeting."


@dataclass(frozen=True, slots=True)
class DeploymentTestResult:
    """What the deployment answered (or the upstream's error) and how long the call took."""

    ok: bool
    answer: str
    latency_ms: float
    error: str = ""
    status_code: int | None = None


async def _send(record: DeploymentRecord) -> str:
    adapter = adapter_for(record.target.provider)
    try:
        if record.model_info.get("mode") == "embedding":
            vectors = await transport.send_embedding(
                adapter, EmbeddingCall(model=record.model_name, input=TEST_PROMPT), record.target)
            return f"{len(vectors.body.get('data') or [])} embedding(s)"
        answer = await transport.send_chat(adapter, ChatCall(
            model=record.model_name, messages=[{"role": "user", "content": TEST_PROMPT}],
            params={"max_tokens": 32}), record.target)
        return str((answer.body.get("choices") or [{}])[0].get("message", {}).get("content") or "")
    finally:
        await transport.close_all()


def deployment_test(*, deployment: Deployment) -> DeploymentTestResult:
    """Call the deployment once now (outside routing: no retries, no cooldown) and time it."""
    policy, _ = policy_from_settings(router_settings_dict())
    record = record_for(deployment, drop_params=True, policy=policy)
    started = time.monotonic()
    try:
        answer = asyncio.run(_send(record))
    except UpstreamError as error:
        return DeploymentTestResult(ok=False, answer="", latency_ms=round((time.monotonic() - started) * 1000, 1),
                                    error=error.message[:500], status_code=error.upstream_status)
    return DeploymentTestResult(ok=True, answer=answer, latency_ms=round((time.monotonic() - started) * 1000, 1))
