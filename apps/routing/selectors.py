"""Reads for the admin and the management API (ORM allowed; never on the /v1 path)."""
from __future__ import annotations

from typing import Any

from apps.routing.models import Deployment
from apps.routing.probe import OPT_OUT


def _endpoint(deployment: Deployment) -> dict[str, Any]:
    item: dict[str, Any] = {"model_id": str(deployment.pk), "model": deployment.model_name,
                            "litellm_model": f"{deployment.provider}/{deployment.provider_model}",
                            "api_base": deployment.api_base or None}
    health = getattr(deployment, "health", None)
    if health is not None:
        item.update(latency_ms=health.latency_ms, checked_at=health.checked_at.isoformat())
        if not health.healthy:
            item.update(error=health.error, status_code=health.status_code,
                        consecutive_failures=health.consecutive_failures)
    return item


def deployment_health_report(*, model: str | None = None) -> dict[str, Any]:
    """LiteLLM's `GET /health` answer from the latest probes; never-probed or opted-out ones listed apart."""
    rows = Deployment.objects.filter(enabled=True).select_related("health").order_by("model_name", "id")
    if model:
        rows = rows.filter(model_name=model)
    healthy, unhealthy, unchecked = [], [], []
    for deployment in rows:
        health = getattr(deployment, "health", None)
        if health is None or any((deployment.model_info or {}).get(flag) for flag in OPT_OUT):
            unchecked.append(_endpoint(deployment))
        elif health.healthy:
            healthy.append(_endpoint(deployment))
        else:
            unhealthy.append(_endpoint(deployment))
    return {"healthy_endpoints": healthy, "unhealthy_endpoints": unhealthy, "unchecked_endpoints": unchecked,
            "healthy_count": len(healthy), "unhealthy_count": len(unhealthy)}
