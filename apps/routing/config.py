"""LiteLLM-style config.yaml: parsed and checked into typed values.

Unknown keys in any section are reported by name with their line (a warning, not a failure); a file
that cannot be used raises ConfigError naming the file, the line and the problem.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from apps.core import jsonutil
from apps.providers.registry import not_served, split_provider
from apps.routing import config_schema as schema
from apps.routing.config_source import ConfigError, Lines, Path_, read_document
from apps.routing.policy import policy_from_settings
from apps.routing.search_config import SearchToolSpec, parse_search_tools
from apps.teams.durations import InvalidDuration, parse_duration

ENV_PREFIX = "os.environ/"
LITELLM_PARAM_COLUMNS = {"model", "api_base", "api_key", "api_version", "timeout", "rpm", "tpm", "weight",
                         "input_cost_per_token", "output_cost_per_token"}
__all__ = ["ConfigError", "DeploymentSpec", "GatewayConfig", "Lines", "load_config_file", "parse_config",
           "read_document", "read_yaml"]


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """One `model_list` entry, normalised."""

    config_id: str
    model_name: str
    provider: str
    provider_model: str
    api_base: str = ""
    api_version: str = ""
    api_key_env: str = ""
    api_key_literal: str = ""
    timeout: float | None = None
    rpm: int | None = None
    tpm: int | None = None
    weight: float = 1.0
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    litellm_params: dict[str, Any] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProxyBudgetSpec:
    """`litellm_settings.max_budget` (USD) and `budget_duration`: the budget of the whole proxy."""

    max_budget: Decimal
    budget_duration: str = ""  # empty: one budget for the proxy's lifetime


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    deployments: tuple[DeploymentSpec, ...]
    router_settings: dict[str, Any]
    litellm_settings: dict[str, Any]
    general_settings: dict[str, Any]
    environment_variables: dict[str, str]
    warnings: tuple[str, ...] = ()
    proxy_budget: ProxyBudgetSpec | None = None  # None when the file sets no max_budget
    search_tools: tuple[SearchToolSpec, ...] = ()
    agent_list: tuple[dict[str, Any], ...] = ()  # LiteLLM's agent_list entries (env resolved), for the agents app


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse the file; a syntax error names the line."""
    return read_document(path)[0]


def resolve_env(value: Any, overlay: Mapping[str, str] | None = None) -> Any:
    """Replace `os.environ/NAME` strings with the variable's value (None when unset).

    `overlay` holds the file's own `environment_variables`, used when the process has no such variable.
    """
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX):]
        return os.environ.get(name, (overlay or {}).get(name))
    if isinstance(value, dict):
        return {k: resolve_env(v, overlay) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, overlay) for v in value]
    return value


def _number(entry: Path_, name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    value = resolve_env(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"model_list[{entry[1]}]: litellm_params.{name} must be a number, got {value!r}",
                          path=(*entry, name)) from None


def unknown_keys(mapping: Mapping[str, Any], section: schema.SectionKeys, *, where: str, path: Path_,
                 unknown: str = "ignored") -> list[tuple[Path_, str]]:
    """One warning per key Tollgate does not act on: LiteLLM's unsupported ones by name, others as unknown."""
    warnings: list[tuple[Path_, str]] = []
    for key in mapping:
        if key in section.acted or key in section.internal or str(key).startswith(section.prefixes or ("\0",)):
            continue
        if key in section.unsupported:
            instead = schema.INSTEAD.get(str(key))
            message = f"LiteLLM's {where}.{key} is not supported by Tollgate; ignored"
            message += f" ({instead})" if instead else ""
        else:
            message = f"unknown key {key!r} in {where} {unknown}"
        warnings.append(((*path, key), message))
    return warnings


def entry_warnings(index: int, raw: Mapping[str, Any]) -> list[tuple[Path_, str]]:
    """Unknown and unsupported keys of one model_list entry, its litellm_params and its model_info."""
    base: Path_ = ("model_list", index)
    warnings = unknown_keys(raw, schema.MODEL_ENTRY, where=f"model_list[{index}]", path=base)
    warnings += unknown_keys(raw.get("litellm_params") or {}, schema.LITELLM_PARAMS,
                             where=f"model_list[{index}].litellm_params", path=(*base, "litellm_params"),
                             unknown="passed to the provider as is")
    info = raw.get("model_info") or {}
    if isinstance(info, Mapping):
        warnings += unknown_keys(info, schema.MODEL_INFO, where=f"model_list[{index}].model_info",
                                 path=(*base, "model_info"))
    return warnings


def _entry_shape(index: int, raw: Any) -> tuple[dict[str, Any], str, str]:
    entry: Path_ = ("model_list", index)
    if not isinstance(raw, dict) or not isinstance(raw.get("model_name"), str):
        raise ConfigError(f"model_list[{index}]: needs a string model_name", path=entry)
    params = raw.get("litellm_params")
    if not isinstance(params, dict) or not isinstance(params.get("model"), str):
        raise ConfigError(f"model_list[{index}]: needs litellm_params.model (e.g. openai/gpt-4o)",
                          path=(*entry, "litellm_params"))
    if raw.get("model_info") is not None and not isinstance(raw["model_info"], dict):
        raise ConfigError(f"model_list[{index}]: model_info must be a mapping", path=(*entry, "model_info"))
    provider, provider_model = split_provider(params["model"])
    return params, provider, provider_model


def provider_warnings(model_list: list[Any], registry: set[str]) -> list[tuple[Path_, str]]:
    """One warning per deployment whose provider no adapter serves: it is kept, and its calls get 400."""
    warnings: list[tuple[Path_, str]] = []
    for index, raw in enumerate(model_list):
        model = raw["litellm_params"]["model"]
        provider, _ = split_provider(model)
        if provider not in registry:
            warnings.append((("model_list", index, "litellm_params", "model"),
                             f"model_list[{index}]: {not_served(provider, model)}; "
                             f"the deployment is kept and calls to it get 400"))
    return warnings


def parse_deployment(index: int, raw: Any, registry: set[str], overlay: Mapping[str, str] | None = None) -> DeploymentSpec:
    """Normalise one model_list entry (a provider no adapter serves is kept: `provider_warnings`)."""
    params, provider, provider_model = _entry_shape(index, raw)
    params = {**{k: raw[k] for k in ("rpm", "tpm") if k in raw}, **params}
    entry: Path_ = ("model_list", index, "litellm_params")
    model_info = dict(raw.get("model_info") or {})
    api_key = params.get("api_key")
    key_env = api_key[len(ENV_PREFIX):] if isinstance(api_key, str) and api_key.startswith(ENV_PREFIX) else ""
    # Kept as written: `os.environ/NAME` secrets are resolved when used, never stored resolved.
    extra = {k: v for k, v in params.items() if k not in LITELLM_PARAM_COLUMNS}
    fingerprint = jsonutil.dumps({"model_name": raw["model_name"], "params": params}).decode()
    config_id = str(model_info.get("id") or hashlib.sha256(fingerprint.encode()).hexdigest()[:32])
    for name in ("order", "num_retries"):
        _number(entry, name, params.get(name), int)  # checked here, read by the routing snapshot
    costs = {name: _number(entry, name, params.get(name, model_info.get(name)), float)
             for name in ("input_cost_per_token", "output_cost_per_token")}
    return DeploymentSpec(
        config_id=config_id, model_name=raw["model_name"], provider=provider, provider_model=provider_model,
        api_base=str(resolve_env(params.get("api_base"), overlay) or ""),
        api_version=str(resolve_env(params.get("api_version"), overlay) or ""),
        api_key_env=key_env, api_key_literal="" if key_env or not api_key else str(api_key),
        timeout=_number(entry, "timeout", params.get("timeout"), float), rpm=_number(entry, "rpm", params.get("rpm"), int),
        tpm=_number(entry, "tpm", params.get("tpm"), int), weight=_number(entry, "weight", params.get("weight", 1), float),
        litellm_params=extra, model_info=model_info, **costs)


def _sections(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    sections = {}
    for name in ("router_settings", "litellm_settings", "general_settings", "environment_variables"):
        value = data.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping", path=(name,))
        sections[name] = value
    return sections


def check_routing_settings(sections: Mapping[str, dict[str, Any]]) -> None:
    """Every routing setting must have a usable value; the first bad one is named."""
    for section in schema.ROUTING_SETTINGS_SECTIONS:
        _, problems = policy_from_settings(sections[section])
        if problems:
            name, message = problems[0]
            raise ConfigError(f"{section}.{message}", path=(section, name))


def proxy_budget_of(litellm_settings: Mapping[str, Any]) -> ProxyBudgetSpec | None:
    """The proxy budget the settings ask for; a bad amount or duration is named."""
    amount, duration = litellm_settings.get("max_budget"), litellm_settings.get("budget_duration")
    if amount is None:
        return None
    try:
        budget = Decimal(str(amount))
    except InvalidOperation:
        budget = Decimal(-1)
    if isinstance(amount, bool) or not budget.is_finite() or budget < 0:
        raise ConfigError(f"litellm_settings.max_budget must be a number of USD, got {amount!r}",
                          path=("litellm_settings", "max_budget"))
    try:
        text = str(duration).strip() if duration else ""
        if text:
            parse_duration(text)
    except InvalidDuration as error:
        raise ConfigError(f"litellm_settings.budget_duration: {error}",
                          path=("litellm_settings", "budget_duration")) from None
    return ProxyBudgetSpec(max_budget=budget, budget_duration=text)


def section_warnings(sections: Mapping[str, dict[str, Any]]) -> list[tuple[Path_, str]]:
    return [warning for name, keys in schema.SECTIONS.items()
            for warning in unknown_keys(sections[name], keys, where=name, path=(name,))]


def top_level_warnings(data: Mapping[str, Any]) -> list[tuple[Path_, str]]:
    """Top-level sections Tollgate does not act on: LiteLLM's unsupported ones by name, others as unknown."""
    return [((key,), f"LiteLLM's top-level {key} is not supported by Tollgate; ignored"
             if key in schema.TOP_LEVEL.unsupported else f"unknown top-level key {key!r} ignored")
            for key in data if key not in schema.TOP_LEVEL.acted]


def parse_config(data: dict[str, Any], registry: set[str], lines: Lines | None = None) -> GatewayConfig:
    """Check every section and turn it into typed values."""
    lines = lines or Lines()
    try:
        return _parse(data, registry, lines)
    except ConfigError as error:
        raise ConfigError(lines.at(error.path, str(error)), path=error.path) from None


def _parse(data: dict[str, Any], registry: set[str], lines: Lines) -> GatewayConfig:
    warnings = top_level_warnings(data)
    model_list = data.get("model_list") or []
    if not isinstance(model_list, list):
        raise ConfigError("model_list must be a list", path=("model_list",))
    raw_sections = _sections(data)
    env = {str(k): str(v) for k, v in raw_sections["environment_variables"].items()}
    sections = {name: resolve_env(value, env) for name, value in raw_sections.items()}
    check_routing_settings(sections)
    deployments = tuple(parse_deployment(i, raw, registry, env) for i, raw in enumerate(model_list))
    for index, raw in enumerate(model_list):
        warnings += entry_warnings(index, raw)
    warnings += provider_warnings(model_list, registry)
    warnings += section_warnings(sections)
    search_tools, search_warnings = parse_search_tools(data, env, os.environ)
    warnings += search_warnings
    if sections["litellm_settings"].get("budget_duration") and sections["litellm_settings"].get("max_budget") is None:
        warnings.append((("litellm_settings", "budget_duration"),
                         "litellm_settings.budget_duration has no effect without litellm_settings.max_budget"))
    return GatewayConfig(deployments=deployments, agent_list=agent_entries(data.get("agent_list"), env),
                         router_settings=sections["router_settings"],
                         litellm_settings=sections["litellm_settings"], general_settings=sections["general_settings"],
                         environment_variables=env, warnings=tuple(lines.at(p, m) for p, m in warnings),
                         proxy_budget=proxy_budget_of(sections["litellm_settings"]), search_tools=search_tools)


def agent_entries(raw: Any, env: Mapping[str, str]) -> tuple[dict[str, Any], ...]:
    """`agent_list`: mappings with a string `agent_name`; what each holds is the agents app's to check."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("agent_list must be a list", path=("agent_list",))
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("agent_name"), str) or not entry["agent_name"]:
            raise ConfigError(f"agent_list[{index}]: needs a string agent_name", path=("agent_list", index))
    return tuple(resolve_env(entry, env) for entry in raw)


def load_config_file(path: str | Path, registry: set[str]) -> GatewayConfig:
    """Read and parse a config file."""
    data, lines = read_document(path)
    try:
        return parse_config(data, registry, lines)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}", path=error.path) from None


TRACING_CALLBACK = "otel"  # LiteLLM's name for its OpenTelemetry integration


def tracing_requested(path: str | Path | None) -> bool:
    """Whether the config asks for OpenTelemetry traces (LiteLLM's `litellm_settings.callbacks: ["otel"]`, or in
    `success_callback`); a missing or unreadable file asks for nothing (loading it reports why)."""
    if not path:
        return False
    try:
        data, _ = read_document(path)
    except (OSError, ConfigError):
        return False
    litellm_settings = data.get("litellm_settings") if isinstance(data, dict) else None
    if not isinstance(litellm_settings, Mapping):
        return False
    for name in ("callbacks", "success_callback"):
        listed = litellm_settings.get(name)
        if listed == TRACING_CALLBACK or (isinstance(listed, list) and TRACING_CALLBACK in listed):
            return True
    return False


def apply_environment(config: GatewayConfig) -> None:
    """Export `environment_variables` into this process (existing variables win)."""
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)
