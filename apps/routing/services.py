"""Writes to deployments, router settings and deployment health; routing changes bump the snapshot after commit."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.errors import InvalidRequest
from apps.core.secret_params import kept
from apps.core.secrets import encrypt
from apps.core.snapshots import snapshot_bump, with_fresh_connection
from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, DeploymentSpec, GatewayConfig, parse_deployment
from apps.routing.model_bodies import ModelChange
from apps.routing.model_entries import stored_params
from apps.routing.models import Deployment, DeploymentHealth, RouterSettings
from apps.routing.policy import policy_from_settings
from apps.routing.probe import ProbeResult, probe_all, probe_in_own_loop
from apps.routing.search_services import search_tools_sync_from_config
from apps.routing.selectors import model_get
from apps.routing.snapshot import GENERATION, record_for, router_settings_dict, routing_table
from apps.teams.proxy_budget import proxy_budget_set
from apps.teams.errors import TeamSettingsInvalid
from apps.teams.log_callbacks.config import log_callbacks_apply
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


CONFIG_SYNC_HOOKS: list[Callable[[GatewayConfig], None]] = []  # apps above routing that load their config sections


def register_config_sync(hook: Callable[[GatewayConfig], None]) -> None:
    """Run `hook(config)` inside every config load's transaction (the agents app loads `agent_list` so)."""
    if hook not in CONFIG_SYNC_HOOKS:
        CONFIG_SYNC_HOOKS.append(hook)


def deployments_sync_from_config(*, config: GatewayConfig) -> ConfigSyncResult:
    """Make config-sourced deployments match the file (create, update, and remove the ones it dropped); store the
    router settings and the proxy budget."""
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
        search_tools_sync_from_config(specs=config.search_tools)
        if config.proxy_budget is not None:  # a file without max_budget leaves the admin's setting alone
            proxy_budget_set(max_budget=config.proxy_budget.max_budget,
                             budget_duration=config.proxy_budget.budget_duration)
        teams = team_settings_apply(entries=team_settings_of(config))
        log_callbacks_apply(litellm_settings=config.litellm_settings)
        for hook in CONFIG_SYNC_HOOKS:
            hook(config)
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


def deployment_health_store(*, results: list[ProbeResult]) -> list[DeploymentHealth]:
    """Store probe results as each deployment's latest health."""
    now = datetime.now(timezone.utc)
    return [_health_save(result, now) for result in results]


async def deployment_health_probe_group(*, model: str) -> str:
    """Probe the deployments serving `model` now (`GET /health?model=`) and store the results; the group's name."""
    table = await routing_table.get()
    records = table.deployments(model)
    if records:
        results = await probe_all(records, policy=table.policy, group_sizes={records[0].model_name: len(records)},
                                  timeout=settings.TOLLGATE_HEALTH_PROBE_TIMEOUT)
        await sync_to_async(with_fresh_connection(deployment_health_store), thread_sensitive=False)(results=results)
    return table.group_for(model) or model


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
    return deployment_health_store(results=results)


def _model_spec(change: ModelChange) -> DeploymentSpec:
    """The checked deployment of a model entry (config.yaml's rules), or a 400 naming the problem."""
    raw = {"model_name": change.model_name, "litellm_params": change.litellm_params, "model_info": change.model_info}
    try:
        spec = parse_deployment(0, raw, set(ADAPTERS))
    except ConfigError as error:
        message = str(error).removeprefix("model_list[0]: ")
        raise InvalidRequest(message, param=".".join(str(p) for p in error.path[2:]) or None,
                             code="invalid_value") from None
    # A config file keeps such an entry (with a warning) so the rest of a LiteLLM file serves; over the API the
    # caller is told at once.
    if spec.provider not in ADAPTERS:
        raise InvalidRequest(f"unknown provider {spec.provider!r} in {change.litellm_params.get('model')!r}",
                             param="litellm_params.model", code="invalid_value")
    return spec


def _model_changed() -> None:
    """Every process routes by the change on its next call: the generation moves, and this process drops its table."""
    snapshot_bump(GENERATION)
    transaction.on_commit(routing_table.clear)


def _apply_spec(row: Deployment, spec: DeploymentSpec, *, key_given: bool) -> None:
    for name, value in _deployment_fields(spec).items():
        if name != "source":
            setattr(row, name, value)
    row.model_info = {k: v for k, v in spec.model_info.items() if k not in ("id", "db_model")}
    if key_given:  # a key that is not sent is kept as it is (LiteLLM's merge)
        row.api_key_encrypted = encrypt(spec.api_key_literal) if spec.api_key_literal else ""


def model_create(*, change: ModelChange) -> Deployment:
    """Store a new model (`/model/new`); it is served on the next call. Its id is model_info.id, else a UUID."""
    spec = _model_spec(change)
    model_id = change.model_id or str(uuid.uuid4())
    with transaction.atomic():
        if Deployment.objects.filter(config_id=model_id).exists():
            raise InvalidRequest(f"A model with id={model_id} already exists.", param="model_info.id",
                                 code="model_exists")
        row = Deployment(config_id=model_id, source=Deployment.Source.ADMIN)
        _apply_spec(row, spec, key_given=True)
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # the same id sent twice at once
            raise InvalidRequest(f"A model with id={model_id} already exists.", param="model_info.id",
                                 code="model_exists") from None
        _model_changed()
    return row


def model_update(*, model_id: str, change: ModelChange) -> Deployment:
    """Merge a change into a stored model (`/model/update`): fields sent replace, fields left out are kept."""
    with transaction.atomic():
        row = model_get(model_id=model_id, for_update=True)
        if row.source == Deployment.Source.CONFIG:
            raise InvalidRequest(f"Model id={model_id} comes from config.yaml: change it there, or store a model "
                                 "with /model/new to edit it here.", param="model_info.id", code="model_in_config")
        stored = stored_params(row)  # a secret sent back as /model/info masked it keeps the stored value
        params = kept({**stored, **{k: v for k, v in change.litellm_params.items() if v is not None}}, stored)
        info = {**(row.model_info or {}), **change.model_info}
        spec = _model_spec(ModelChange(model_name=change.model_name or row.model_name, litellm_params=params,
                                       model_info=info))
        _apply_spec(row, spec, key_given=change.litellm_params.get("api_key") is not None)
        row.save()
        _model_changed()
    return row


def model_delete(*, model_id: str) -> str:
    """Delete a stored model (`/model/delete`); its id."""
    with transaction.atomic():
        row = model_get(model_id=model_id, for_update=True)
        if row.source == Deployment.Source.CONFIG:
            raise InvalidRequest(f"Model id={model_id} comes from config.yaml: remove it there.", param="id",
                                 code="model_in_config")
        row.delete()
        _model_changed()
    return model_id
