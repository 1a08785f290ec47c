"""The search tools the hot path reads: a routing table whose groups are search tool names.

Built beside the model routing table, on the same generation (a config load, an admin save or a signal moves
both), so a search call is picked, retried, cooled down and failed over by the same router as chat; each tool
is a DeploymentRecord whose target names its search provider.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings

from apps.core.secret_params import in_use
from apps.core.snapshots import SnapshotCache
from apps.providers.base import Target
from apps.providers.search.registry import SEARCH_PROVIDERS
from apps.providers.search.send import with_search_env
from apps.routing.policy import RouterPolicy, policy_from_settings
from apps.routing.snapshot import GENERATION, DeploymentRecord, RoutingTable, resolve_api_key, router_settings_dict

MODEL = "search"  # the target's model: LiteLLM names a search call's model `<provider>/search`


def search_id(pk: Any) -> str:
    """A tool's id in routing state (cooldowns, stats): apart from the deployments' row numbers."""
    return f"search-{pk}"


def tool_target(row: Any, policy: RouterPolicy) -> Target:
    """The Target of one SearchTool row: its key, base and options, then the provider's variables."""
    params = dict(in_use(row.litellm_params or {}))
    timeout = params.pop("timeout", None)
    target = Target(provider=row.search_provider, model=MODEL, api_base=row.api_base or None,
                    api_key=resolve_api_key(env_name=row.api_key_env, encrypted=row.api_key_encrypted),
                    timeout=float(timeout or policy.timeout or settings.TOLLGATE_DEFAULT_TIMEOUT),
                    deployment_id=search_id(row.pk), model_alias=row.search_tool_name, extra=params)
    provider = SEARCH_PROVIDERS.get(row.search_provider)
    return with_search_env(provider, target) if provider is not None else target


def tool_record(row: Any, policy: RouterPolicy) -> DeploymentRecord:
    """Freeze one SearchTool row; `input_cost_per_query` (litellm_params, else search_tool_info) is in model_info."""
    params, info = row.litellm_params or {}, dict(row.search_tool_info or {})
    cost = params.get("input_cost_per_query", info.get("input_cost_per_query"))
    if cost is not None:
        info["input_cost_per_query"] = str(Decimal(repr(float(cost))))
    return DeploymentRecord(id=search_id(row.pk), model_name=row.search_tool_name, target=tool_target(row, policy),
                            model_info=info, supported=row.search_provider in SEARCH_PROVIDERS,
                            model_id=str(row.config_id or ""))


def build_search_table(rows: Iterable[Any], router_settings: dict[str, Any]) -> RoutingTable:
    """A table of search tools by name, with the router's policy (retries, cooldowns, fallbacks between tools)."""
    policy, _ = policy_from_settings(router_settings)  # the model table's build logs its problems
    groups: dict[str, list[DeploymentRecord]] = {}
    for row in rows:
        groups.setdefault(row.search_tool_name, []).append(tool_record(row, policy))
    return RoutingTable(groups={name: tuple(records) for name, records in groups.items()},
                        settings=router_settings, policy=policy)


def load_search_table() -> RoutingTable:
    """Read enabled search tools and router settings from the database."""
    from apps.routing.models import SearchTool

    return build_search_table(SearchTool.objects.filter(enabled=True).order_by("id"), router_settings_dict())


search_table = SnapshotCache(GENERATION, load_search_table)

