"""The routing table the hot path reads: model groups of deployments, rebuilt when deployments change."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

from apps.core.secrets import decrypt
from apps.core.snapshots import SnapshotCache
from apps.providers.base import Target

GENERATION = "routing"
# litellm_params handled by dedicated Deployment columns; everything else is passed to the adapter.
COLUMN_PARAMS = {"model", "api_base", "api_key", "api_version", "timeout", "rpm", "tpm", "weight",
                 "input_cost_per_token", "output_cost_per_token", "drop_params", "extra_headers"}


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """An enabled deployment, ready to call."""

    id: str
    model_name: str
    target: Target
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    input_cost_per_token: Decimal | None = None
    output_cost_per_token: Decimal | None = None
    model_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Model groups by public name, plus router-wide settings."""

    groups: dict[str, tuple[DeploymentRecord, ...]]
    settings: dict[str, Any] = field(default_factory=dict)
    access_groups: dict[str, frozenset[str]] = field(default_factory=dict)  # group name -> model names

    def deployments(self, model_name: str) -> tuple[DeploymentRecord, ...]:
        return self.groups.get(model_name, ())

    @property
    def model_names(self) -> list[str]:
        return sorted(self.groups)


def resolve_api_key(*, env_name: str, encrypted: str) -> str | None:
    """The deployment's key: decrypted from the database, else read from its environment variable."""
    if encrypted:
        return decrypt(encrypted)
    if env_name:
        return os.environ.get(env_name)
    return None


def record_for(deployment: Any, *, drop_params: bool) -> DeploymentRecord:
    """Freeze one Deployment row into what the hot path needs."""
    params = deployment.litellm_params or {}
    target = Target(
        provider=deployment.provider, model=deployment.provider_model, api_base=deployment.api_base or None,
        api_key=resolve_api_key(env_name=deployment.api_key_env, encrypted=deployment.api_key_encrypted),
        api_version=deployment.api_version or None,
        timeout=deployment.timeout or settings.TOLLGATE_DEFAULT_TIMEOUT,
        deployment_id=str(deployment.pk), model_alias=deployment.model_name,
        drop_params=bool(params.get("drop_params", drop_params)),
        headers=dict(params.get("extra_headers") or {}),
        extra={k: v for k, v in params.items() if k not in COLUMN_PARAMS})
    return DeploymentRecord(
        id=str(deployment.pk), model_name=deployment.model_name, target=target, weight=deployment.weight,
        rpm=deployment.rpm, tpm=deployment.tpm, input_cost_per_token=deployment.input_cost_per_token,
        output_cost_per_token=deployment.output_cost_per_token, model_info=dict(deployment.model_info or {}))


def load_routing_table() -> RoutingTable:
    """Read enabled deployments and router settings from the database."""
    from apps.routing.models import Deployment, RouterSettings

    router = RouterSettings.objects.first()
    router_settings: dict[str, Any] = dict(router.settings) if router else {}
    if router:
        router_settings.update(routing_strategy=router.routing_strategy, num_retries=router.num_retries)
    drop_params = bool(router_settings.get("drop_params", False))
    groups: dict[str, list[DeploymentRecord]] = {}
    for deployment in Deployment.objects.filter(enabled=True).order_by("id"):
        groups.setdefault(deployment.model_name, []).append(record_for(deployment, drop_params=drop_params))
    access: dict[str, set[str]] = {}
    for name, records in groups.items():
        for record in records:
            for group in record.model_info.get("access_groups") or ():
                access.setdefault(str(group), set()).add(name)
    return RoutingTable(groups={name: tuple(records) for name, records in groups.items()}, settings=router_settings,
                        access_groups={group: frozenset(names) for group, names in access.items()})


routing_table = SnapshotCache(GENERATION, load_routing_table)
