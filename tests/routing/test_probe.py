"""The latency probe: healthy deployments feed latency averages, failing ones count toward cooldowns."""
from __future__ import annotations

from apps.core.state import state
from apps.providers.base import Target
from apps.routing.policy import RouterPolicy
from apps.routing.probe import probe_all
from apps.routing.snapshot import DeploymentRecord
from tests.routing.helpers import deployment


def unreachable(name: str) -> DeploymentRecord:
    record = deployment(name)
    return DeploymentRecord(id=record.id, model_name="g", target=Target(
        provider="openai", model="gpt-4o", api_base="http://127.0.0.1:9/v1", api_key="sk-x", timeout=5))


async def test_probe_records_latency_and_cools_failing_deployments() -> None:
    healthy, broken = deployment("healthy"), unreachable("broken")
    skipped = deployment("skipped", model_info={"disable_health_probe": True})
    results = await probe_all([healthy, broken, skipped], policy=RouterPolicy(allowed_fails=1),
                              group_sizes={"g": 3}, timeout=5)
    by_id = {r.deployment_id: r for r in results}
    assert set(by_id) == {healthy.id, broken.id}
    assert by_id[healthy.id].healthy and by_id[healthy.id].latency is not None
    assert (by_id[broken.id].healthy, by_id[broken.id].status_code) == (False, 502)
    assert by_id[broken.id].error == "could not reach upstream openai: ConnectError"
    latency, ttft = await state().values([f"route:lat:{healthy.id}", f"route:ttft:{healthy.id}"])
    assert latency is not None and latency > 0 and ttft is not None and ttft > 0
    assert list(await state().cooldowns([healthy.id, broken.id, skipped.id])) == [broken.id]
