"""The routing table the hot path reads: model groups of deployments, rebuilt when deployments change."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from django.conf import settings

from apps.core.secret_params import in_use
from apps.core.secrets import decrypt
from apps.core.snapshots import SnapshotCache
from apps.providers.base import Target
from apps.providers.env_defaults import with_env_defaults
from apps.providers.registry import ADAPTERS
from apps.routing.policy import RouterPolicy, policy_from_settings

logger = logging.getLogger("tollgate.routing")

GENERATION = "routing"
# litellm_params handled by dedicated Deployment columns; everything else is passed to the adapter.
COLUMN_PARAMS = {"model", "api_base", "api_key", "api_version", "timeout", "rpm", "tpm", "weight",
                 "input_cost_per_token", "output_cost_per_token", "drop_params", "extra_headers", "order", "num_retries"}


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
    max_input_tokens: int | None = None  # model_info, else the price table; None when unknown
    weight_set: bool = False  # `weight` was given, so simple-shuffle weighs by it rather than rpm/tpm
    supported: bool = True  # an adapter serves the provider; calls to one that none serves get 400
    order: int | None = None  # litellm_params.order: the lowest order among the live deployments is tried first
    num_retries: int | None = None  # litellm_params.num_retries: the retries a call gets when this deployment fails
    mode: str = ""  # model_info.mode (chat, embedding, completion...): which calls it serves; "" serves any
    # LiteLLM's id for it: model_info.id (from config, else config's generated one) or the id /model/new gave;
    # "" for a row made without one. `id` stays the row number: cooldowns, stats and probes are keyed by it.
    model_id: str = ""

    @property
    def public_id(self) -> str:
        """The id answers (`x-litellm-model-id`) and spend rows name: LiteLLM's model id, else the row number."""
        return self.model_id or self.id


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Model groups by public name, plus router-wide settings."""

    groups: dict[str, tuple[DeploymentRecord, ...]]
    settings: dict[str, Any] = field(default_factory=dict)
    access_groups: dict[str, frozenset[str]] = field(default_factory=dict)  # group name -> model names
    policy: RouterPolicy = field(default_factory=RouterPolicy)
    wildcards: tuple[str, ...] = ()  # group names holding "*", most specific first

    def group_for(self, model_name: str) -> str | None:
        """The group serving a requested name: itself, its alias, or the most specific wildcard group."""
        if model_name in self.groups:
            return model_name
        alias = self.policy.model_group_alias.get(model_name)
        if alias is not None and alias in self.groups:
            return alias
        return next((pattern for pattern in self.wildcards if fnmatchcase(model_name, pattern)), None)

    def deployments(self, model_name: str) -> tuple[DeploymentRecord, ...]:
        """The deployments that can serve `model_name`; wildcard ones aimed at the requested model."""
        group = self.group_for(model_name)
        if group is None:
            return ()
        records = self.groups[group]
        if group == model_name or "*" not in group:
            return records
        return tuple(aimed_at(record, pattern=group, requested=model_name) for record in records)

    @property
    def model_names(self) -> list[str]:
        visible = [a for a, g in self.policy.model_group_alias.items()
                   if a not in self.policy.hidden_aliases and g in self.groups]
        return sorted({*self.groups, *visible})


def aimed_at(record: DeploymentRecord, *, pattern: str, requested: str) -> DeploymentRecord:
    """A wildcard deployment for one requested name: `anthropic/*` asked for `anthropic/claude-x` calls `claude-x`."""
    prefix, _, suffix = pattern.partition("*")
    matched = requested[len(prefix):len(requested) - len(suffix) if suffix else None]
    provider_model = record.target.model.replace("*", matched) if "*" in record.target.model else record.target.model
    target = replace(record.target, model=provider_model)
    price = list_price(target.provider, provider_model)
    window = record.model_info.get("max_input_tokens") or (price.max_input_tokens if price else None)
    return replace(record, target=target, max_input_tokens=window,
                   input_cost_per_token=record.input_cost_per_token or (price.input_cost_per_token if price else None),
                   output_cost_per_token=record.output_cost_per_token or (price.output_cost_per_token if price else None))


def list_price(provider: str, model: str) -> Any:
    """The shipped price table's row for a model (prices, context window), or None when unknown or absent."""
    try:
        from apps.providers.pricing import price_for  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return price_for(provider, model)


def base_model(deployment: Any) -> str:
    """`model_info.base_model` (or `litellm_params.base_model`): the model whose list price and limits apply."""
    info, params = deployment.model_info or {}, deployment.litellm_params or {}
    return str(info.get("base_model") or params.get("base_model") or "")


def listed_for(provider: str, model: str, base: str = "") -> Any:
    """The price-table row of the base model when one is named (`azure/gpt-4o` or a bare name), else the model's."""
    if base:
        found = list_price("" if "/" in base else provider, base)
        if found is not None:
            return found
    return list_price(provider, model)


def resolve_api_key(*, env_name: str, encrypted: str) -> str | None:
    """The deployment's key: decrypted from the database, else read from its environment variable."""
    if encrypted:
        return decrypt(encrypted)
    if env_name:
        return os.environ.get(env_name)
    return None


def target_for_row(deployment: Any, *, drop_params: bool, policy: RouterPolicy) -> Target:
    """The Target of one Deployment row; router-wide timeouts fill what the deployment leaves unset, and the
    provider's standard variables (`OPENAI_API_BASE`, `AZURE_API_VERSION`, ...) its missing base, key and version."""
    params = in_use(deployment.litellm_params or {})  # secrets' os.environ/NAME read now, never stored resolved
    extra = {k: v for k, v in params.items() if k not in COLUMN_PARAMS}
    if policy.stream_timeout is not None:
        extra.setdefault("stream_timeout", policy.stream_timeout)
    return with_env_defaults(Target(
        provider=deployment.provider, model=deployment.provider_model, api_base=deployment.api_base or None,
        api_key=resolve_api_key(env_name=deployment.api_key_env, encrypted=deployment.api_key_encrypted),
        api_version=deployment.api_version or None,
        timeout=deployment.timeout or policy.timeout or settings.TOLLGATE_DEFAULT_TIMEOUT,
        deployment_id=str(deployment.pk), model_alias=deployment.model_name,
        drop_params=bool(params.get("drop_params", drop_params)),
        headers=dict(params.get("extra_headers") or {}), extra=extra))


def _given_or_listed(given: Decimal | None, info: dict[str, Any], price: Any, name: str) -> Decimal | None:
    """The deployment's own price when set (an explicit 0 included), else model_info's, else the price table's."""
    if given is not None:
        return given
    if info.get(name) is not None:
        return Decimal(repr(float(info[name])))
    return getattr(price, name) if price is not None else None


def _whole(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None  # the config check names a bad value at load


def record_for(deployment: Any, *, drop_params: bool, policy: RouterPolicy | None = None) -> DeploymentRecord:
    """Freeze one Deployment row into what the hot path needs."""
    policy = policy or RouterPolicy()
    info = dict(deployment.model_info or {})
    base = base_model(deployment)
    if base:
        info["base_model"] = base  # where costing looks for it
    price = None if "*" in deployment.provider_model else listed_for(deployment.provider, deployment.provider_model,
                                                                      base)
    return DeploymentRecord(
        id=str(deployment.pk), model_name=deployment.model_name,
        target=target_for_row(deployment, drop_params=drop_params, policy=policy), weight=deployment.weight,
        rpm=deployment.rpm, tpm=deployment.tpm,
        input_cost_per_token=_given_or_listed(deployment.input_cost_per_token, info, price, "input_cost_per_token"),
        output_cost_per_token=_given_or_listed(deployment.output_cost_per_token, info, price, "output_cost_per_token"),
        model_info=info, max_input_tokens=info.get("max_input_tokens") or (price.max_input_tokens if price else None),
        weight_set="weight" in (deployment.litellm_params or {}) or deployment.weight != 1.0,
        supported=deployment.provider in ADAPTERS, order=_whole((deployment.litellm_params or {}).get("order")),
        num_retries=_whole((deployment.litellm_params or {}).get("num_retries")),
        mode=str(info.get("mode") or ""), model_id=str(getattr(deployment, "config_id", "") or ""))


def router_settings_dict() -> dict[str, Any]:
    """The stored router settings as one mapping (columns override the free-form JSON)."""
    from apps.routing.models import RouterSettings

    row = RouterSettings.objects.first()
    if row is None:
        return {}
    merged: dict[str, Any] = dict(row.settings or {})
    merged.update(routing_strategy=row.routing_strategy, num_retries=row.num_retries)
    if row.request_timeout is not None:
        merged["request_timeout"] = row.request_timeout
    return merged


def access_groups_of(groups: Mapping[str, tuple[DeploymentRecord, ...]]) -> dict[str, frozenset[str]]:
    """Access group name -> the model groups whose deployments list it in model_info.access_groups."""
    access: dict[str, set[str]] = {}
    for name, records in groups.items():
        for record in records:
            for group in record.model_info.get("access_groups") or ():
                access.setdefault(str(group), set()).add(name)
    return {group: frozenset(names) for group, names in access.items()}


def build_table(rows: Iterable[Any], router_settings: dict[str, Any]) -> RoutingTable:
    """A routing table from Deployment rows (or row-like objects) and router settings."""
    policy, problems = policy_from_settings(router_settings)
    for _, problem in problems:
        logger.warning("router settings: %s; using the default", problem)
    drop_params = bool(router_settings.get("drop_params", False))
    groups: dict[str, list[DeploymentRecord]] = {}
    for row in rows:
        groups.setdefault(row.model_name, []).append(record_for(row, drop_params=drop_params, policy=policy))
    frozen = {name: tuple(records) for name, records in groups.items()}
    wildcards = tuple(sorted((name for name in frozen if "*" in name), key=lambda n: (-len(n.replace("*", "")), n)))
    return RoutingTable(groups=frozen, settings=router_settings, access_groups=access_groups_of(frozen),
                        policy=policy, wildcards=wildcards)


def load_routing_table() -> RoutingTable:
    """Read enabled deployments and router settings from the database."""
    from apps.routing.models import Deployment

    return build_table(Deployment.objects.filter(enabled=True).order_by("id"), router_settings_dict())


routing_table = SnapshotCache(GENERATION, load_routing_table)
