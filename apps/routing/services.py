"""Writes to deployments, router settings and deployment health; routing changes bump the snapshot after commit."""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction

from apps.core.secrets import encrypt
from apps.core.snapshots import snapshot_bump
from apps.routing.config import DeploymentSpec, GatewayConfig
from apps.routing.models import Deployment, DeploymentHealth, RouterSettings
from apps.routing.policy import policy_from_settings
from apps.routing.probe import ProbeResult, probe_in_own_loop
from apps.routing.snapshot import GENERATION, record_for, router_settings_dict
from apps.teams.errors import TeamSettingsInvalid
from apps.teams.team_settings import TeamSettingsResult, team_settings_apply

ROUTER_COLUMNS = ("routing_strategy", "num_retries", "request_timeout")


@dataclass(frozen=True, slots=True)
class ConfigSyncResult:
    created: int
    updated: int
    removed: int
    teams: TeamSettingsResult = TeamSettingsResult()


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
        teams = team_settings_apply(entries=team_settings_of(config))
        snapshot_bump(GENERATION)
    return ConfigSyncResult(created=created, updated=updated, removed=removed, teams=teams)


def team_settings_of(config: GatewayConfig) -> list[object]:
    """`general_settings.team_settings`, which must be a list of team entries."""
    entries = config.general_settings.get("team_settings") or []
    if not isinstance(entries, list):
        raise TeamSettingsInvalid("general_settings.team_settings must be a list of teams")
    return entries


def _health_save(result: ProbeResult, now: datetime) -> DeploymentHealth:
    previous = DeploymentHealth.objects.filter(pk=int(result.deployment_id)).values_list(
        "consecutive_failures", flat=True).first() or 0
    health, _ = DeploymentHealth.objects.update_or_create(
        deployment_id=int(result.deployment_id),
        defaults={"healthy": result.healthy, "error": result.error, "status_code": result.status_code,
                  "latency_ms": None if result.latency is None else round(result.latency * 1000, 3),
                  "consecutive_failures": 0 if result.healthy else previous + 1, "checked_at": now})
    return health


def deployment_health_probe(*, deployment_ids: list[int] | None = None) -> list[DeploymentHealth]:
    """Probe enabled deployments (all, or the ones named) and store each result."""
    stored = router_settings_dict()
    policy, _ = policy_from_settings(stored)
    rows = Deployment.objects.filter(enabled=True).order_by("id")
    group_sizes = Counter(rows.values_list("model_name", flat=True))
    if deployment_ids is not None:
        rows = rows.filter(pk__in=deployment_ids)
    records = [record_for(row, drop_params=bool(stored.get("drop_params")), policy=policy) for row in rows]
    results = asyncio.run(probe_in_own_loop(records, policy=policy, group_sizes=dict(group_sizes),
                                            timeout=settings.TOLLGATE_HEALTH_PROBE_TIMEOUT))
    now = datetime.now(timezone.utc)
    return [_health_save(result, now) for result in results]
