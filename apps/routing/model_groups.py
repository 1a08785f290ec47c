"""`/model_group/info`: one summary per model group, combined over its deployments as LiteLLM combines them.

Providers in order of first appearance; context windows and prices the largest of the group's; rpm and tpm
summed over the deployments that set them; a capability true when any deployment's model_info says so.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypedDict, cast

from apps.routing.parsing import CHAT_PARAM_TYPES
from apps.routing.snapshot import DeploymentRecord, RoutingTable, list_price

CAPABILITIES = ("supports_parallel_function_calling", "supports_vision", "supports_web_search",
                "supports_url_context", "supports_reasoning", "supports_function_calling")
CHAT_PARAMS = sorted({"stream", *CHAT_PARAM_TYPES})
EMBEDDING_PARAMS = ["dimensions", "encoding_format", "user"]


class ModelGroupInfo(TypedDict):
    """LiteLLM's `ModelGroupInfoProxy`, the fields the gateway can fill."""

    model_group: str
    providers: list[str]
    max_input_tokens: int | None
    max_output_tokens: int | None
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    mode: str
    tpm: int | None
    rpm: int | None
    supports_parallel_function_calling: bool
    supports_vision: bool
    supports_web_search: bool
    supports_url_context: bool
    supports_reasoning: bool
    supports_function_calling: bool
    supported_openai_params: list[str]
    configurable_clientside_auth_params: None
    is_public_model_group: bool


def _largest(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _total(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _max_output(record: DeploymentRecord) -> int | None:
    given = record.model_info.get("max_output_tokens")
    if given is not None:
        return int(given)
    price = list_price(record.target.provider, record.target.model)
    return price.max_output_tokens if price is not None else None


def group_info(name: str, records: Sequence[DeploymentRecord]) -> ModelGroupInfo:
    """The summary of one group."""
    mode = str(next((r.model_info["mode"] for r in records if r.model_info.get("mode")), "chat"))
    listed = next((r.model_info["supported_openai_params"] for r in records
                   if isinstance(r.model_info.get("supported_openai_params"), list)), None)
    capabilities = {flag: any(r.model_info.get(flag) is True for r in records) for flag in CAPABILITIES}
    costs = {name: _largest(float(c) if (c := getattr(r, name)) is not None else None for r in records)
             for name in ("input_cost_per_token", "output_cost_per_token")}
    info: dict[str, Any] = {
        "model_group": name, "providers": list(dict.fromkeys(r.target.provider for r in records)),
        "max_input_tokens": _largest(r.max_input_tokens for r in records),
        "max_output_tokens": _largest(_max_output(r) for r in records), **costs, "mode": mode,
        "tpm": _total(r.tpm for r in records), "rpm": _total(r.rpm for r in records), **capabilities,
        "supported_openai_params": list(listed) if listed is not None else (
            EMBEDDING_PARAMS if mode == "embedding" else CHAT_PARAMS),
        "configurable_clientside_auth_params": None, "is_public_model_group": False}
    return cast(ModelGroupInfo, info)


def model_group_list(table: RoutingTable, *, visible: frozenset[str] | None,
                     model_group: str | None = None) -> list[ModelGroupInfo]:
    """Every visible group (wildcard groups left out, as LiteLLM lists them), or the one asked for."""
    names = sorted(name for name in table.groups if "*" not in name and (visible is None or name in visible))
    if model_group is not None:
        names = [name for name in names if name == model_group]
    return [group_info(name, table.groups[name]) for name in names]
