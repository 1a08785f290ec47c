"""Writes to deployments and router settings; each bumps the routing snapshot after commit."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from apps.core.secrets import encrypt
from apps.core.snapshots import snapshot_bump
from apps.routing.config import DeploymentSpec, GatewayConfig
from apps.routing.models import Deployment, RouterSettings
from apps.routing.snapshot import GENERATION

ROUTER_COLUMNS = ("routing_strategy", "num_retries", "request_timeout")


@dataclass(frozen=True, slots=True)
class ConfigSyncResult:
    created: int
    updated: int
    removed: int


def _deployment_fields(spec: DeploymentSpec) -> dict[str, object]:
    return {
        "model_name": spec.model_name, "provider": spec.provider, "provider_model": spec.provider_model,
        "api_base": spec.api_base, "api_version": spec.api_version, "api_key_env": spec.api_key_env,
        "timeout": spec.timeout, "rpm": spec.rpm, "tpm": spec.tpm, "weight": spec.weight,
        "input_cost_per_token": spec.input_cost_per_token, "output_cost_per_token": spec.output_cost_per_token,
        "litellm_params": spec.litellm_params, "model_info": spec.model_info, "source": Deployment.Source.CONFIG,
    }


def router_settings_save(*, config: GatewayConfig) -> RouterSettings:
    """Store router_settings and litellm_settings in the single RouterSettings row."""
    merged = {**config.litellm_settings, **config.router_settings}
    row = RouterSettings.objects.select_for_update().first() or RouterSettings()
    row.routing_strategy = str(merged.get("routing_strategy") or "simple-shuffle")
    row.num_retries = int(merged.get("num_retries", 2))
    timeout = merged.get("request_timeout", merged.get("timeout"))
    row.request_timeout = float(timeout) if timeout is not None else None
    row.settings = {k: v for k, v in merged.items() if k not in ROUTER_COLUMNS}
    row.save()
    return row


def deployments_sync_from_config(*, config: GatewayConfig) -> ConfigSyncResult:
    """Make config-sourced deployments match the file: create, update, and remove the ones it dropped."""
    with transaction.atomic():
        existing = {d.config_id: d for d in Deployment.objects.select_for_update().filter(source="config")}
        created = updated = 0
        for spec in config.deployments:
            fields = _deployment_fields(spec)
            if spec.api_key_literal:
                fields["api_key_encrypted"] = encrypt(spec.api_key_literal)
            row = existing.pop(spec.config_id, None)
            if row is None:
                Deployment.objects.create(config_id=spec.config_id, **fields)
                created += 1
                continue
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
            updated += 1
        removed = Deployment.objects.filter(pk__in=[d.pk for d in existing.values()]).delete()[0]
        router_settings_save(config=config)
        snapshot_bump(GENERATION)
    return ConfigSyncResult(created=created, updated=updated, removed=removed)
