"""Reads for the admin and the management API (ORM allowed; never on the /v1 path)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from apps.core.errors import NotFound
from apps.routing.catalog import visible_models
from apps.routing.model_entries import ModelEntry, model_entry
from apps.routing.models import Deployment
from apps.routing.probe import OPT_OUT
from apps.routing.snapshot import load_routing_table
from apps.teams.auth import Principal, hash_key
from apps.teams.snapshot import load_key


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


def model_get(*, model_id: str, for_update: bool = False) -> Deployment:
    """A deployment by LiteLLM's model id (model_info.id) or by its number (`x-litellm-model-id`); else 404."""
    rows = Deployment.objects.select_for_update() if for_update else Deployment.objects.all()
    row = rows.filter(config_id=model_id).first()
    if row is None and model_id.isdigit():
        row = rows.filter(pk=int(model_id)).first()
    if row is None:
        raise NotFound(f"Model id={model_id} not found.", param="id", code="model_not_found")
    return row


def models_visible(*, raw_key: str | None, reads_all: bool) -> frozenset[str] | None:
    """The model groups a management caller may see (None: all): a key sees what it may call."""
    if reads_all or raw_key is None:
        return None
    record = load_key(hash_key(raw_key))
    if record is None:
        return frozenset()
    return frozenset(visible_models(Principal(is_master=False, key=record), load_routing_table()))


def _listed(visible: frozenset[str] | None) -> QuerySet[Deployment]:
    rows = Deployment.objects.filter(enabled=True).order_by("model_name", "id")
    return rows if visible is None else rows.filter(model_name__in=visible)


def model_info_list(*, visible: frozenset[str] | None, model_id: str | None = None) -> list[ModelEntry]:
    """`/model/info`: every visible deployment, or the one with this id (404 when it is not visible)."""
    if model_id is None:
        return [model_entry(row) for row in _listed(visible)]
    try:
        row: Deployment | None = model_get(model_id=model_id)
    except NotFound:
        row = None  # answered below, exactly as one the caller may not see
    if row is None or not row.enabled or (visible is not None and row.model_name not in visible):
        raise NotFound(f"Model id={model_id} not found.", param="litellm_model_id", code="model_not_found")
    return [model_entry(row)]


V2_SORTS = {"model_name": "model_name", "created_at": "created_at", "updated_at": "updated_at"}


@dataclass(frozen=True, slots=True)
class ModelQuery:
    """`/v2/model/info`'s filters and page."""

    model: str | None = None
    model_id: str | None = None
    search: str | None = None
    sort_by: str | None = None
    descending: bool = False
    page: int = 1
    size: int = 50


def model_info_page(*, visible: frozenset[str] | None, query: ModelQuery) -> dict[str, Any]:
    """`/v2/model/info`: visible deployments filtered, sorted and paginated, with LiteLLM's page fields."""
    rows = _listed(visible)
    if query.model:
        rows = rows.filter(model_name=query.model)
    if query.search:
        rows = rows.filter(model_name__icontains=query.search.strip())
    if query.model_id:
        rows = rows.filter(Q(config_id=query.model_id) | Q(pk=int(query.model_id))
                           if query.model_id.isdigit() else Q(config_id=query.model_id))
    if query.sort_by:
        field = V2_SORTS[query.sort_by]
        rows = rows.order_by(f"-{field}" if query.descending else field, "id")
    total = rows.count()
    start = (query.page - 1) * query.size
    return {"data": [model_entry(row) for row in rows[start:start + query.size]], "total_count": total,
            "current_page": query.page, "total_pages": -(-total // query.size), "size": query.size}
