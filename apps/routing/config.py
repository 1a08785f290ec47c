"""LiteLLM-style config.yaml: parsed and checked into typed values, unknown keys reported by name."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apps.core import jsonutil

ENV_PREFIX = "os.environ/"
TOP_LEVEL_KEYS = {"model_list", "router_settings", "litellm_settings", "general_settings", "environment_variables",
                  "include", "credential_list", "mcp_servers", "guardrails", "callback_settings"}
LITELLM_PARAM_COLUMNS = {"model", "api_base", "api_key", "api_version", "timeout", "rpm", "tpm", "weight",
                         "input_cost_per_token", "output_cost_per_token"}


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file, line and problem."""


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
class GatewayConfig:
    deployments: tuple[DeploymentSpec, ...]
    router_settings: dict[str, Any]
    litellm_settings: dict[str, Any]
    general_settings: dict[str, Any]
    environment_variables: dict[str, str]
    warnings: tuple[str, ...] = ()


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse the file; a syntax error names the line."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def resolve_env(value: Any) -> Any:
    """Replace `os.environ/NAME` strings with the variable's value (None when unset)."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return os.environ.get(value[len(ENV_PREFIX):])
    if isinstance(value, dict):
        return {k: resolve_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v) for v in value]
    return value


def _number(entry: str, name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    value = resolve_env(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{entry}: litellm_params.{name} must be a number, got {value!r}") from None


def parse_deployment(index: int, raw: Any, registry: set[str]) -> DeploymentSpec:
    """Normalise one model_list entry; provider prefixes must be known."""
    entry = f"model_list[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("model_name"), str):
        raise ConfigError(f"{entry}: needs a string model_name")
    params = raw.get("litellm_params")
    if not isinstance(params, dict) or not isinstance(params.get("model"), str):
        raise ConfigError(f"{entry}: needs litellm_params.model (e.g. openai/gpt-4o)")
    provider, sep, provider_model = params["model"].partition("/")
    if not sep:
        provider, provider_model = "openai", params["model"]
    if provider not in registry:
        raise ConfigError(f"{entry}: unknown provider {provider!r} in {params['model']!r}")
    model_info = dict(raw.get("model_info") or {})
    api_key = params.get("api_key")
    key_env = api_key[len(ENV_PREFIX):] if isinstance(api_key, str) and api_key.startswith(ENV_PREFIX) else ""
    extra = {k: v for k, v in params.items() if k not in LITELLM_PARAM_COLUMNS}
    fingerprint = jsonutil.dumps({"model_name": raw["model_name"], "params": params}).decode()
    config_id = str(model_info.get("id") or hashlib.sha256(fingerprint.encode()).hexdigest()[:32])
    costs = {name: _number(entry, name, params.get(name, model_info.get(name)), float)
             for name in ("input_cost_per_token", "output_cost_per_token")}
    return DeploymentSpec(
        config_id=config_id, model_name=raw["model_name"], provider=provider, provider_model=provider_model,
        api_base=str(resolve_env(params.get("api_base")) or ""), api_version=str(params.get("api_version") or ""),
        api_key_env=key_env, api_key_literal="" if key_env or not api_key else str(api_key),
        timeout=_number(entry, "timeout", params.get("timeout"), float), rpm=_number(entry, "rpm", params.get("rpm"), int),
        tpm=_number(entry, "tpm", params.get("tpm"), int), weight=_number(entry, "weight", params.get("weight", 1), float),
        litellm_params=extra, model_info=model_info, **costs)


def parse_config(data: dict[str, Any], registry: set[str]) -> GatewayConfig:
    """Check every section and turn it into typed values."""
    warnings = [f"unknown top-level key {key!r} ignored" for key in data if key not in TOP_LEVEL_KEYS]
    model_list = data.get("model_list") or []
    if not isinstance(model_list, list):
        raise ConfigError("model_list must be a list")
    sections = {}
    for name in ("router_settings", "litellm_settings", "general_settings", "environment_variables"):
        value = data.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping")
        sections[name] = value
    deployments = tuple(parse_deployment(i, raw, registry) for i, raw in enumerate(model_list))
    return GatewayConfig(deployments=deployments, router_settings=sections["router_settings"],
                         litellm_settings=sections["litellm_settings"],
                         general_settings=sections["general_settings"],
                         environment_variables={str(k): str(v) for k, v in sections["environment_variables"].items()},
                         warnings=tuple(warnings))


def load_config_file(path: str | Path, registry: set[str]) -> GatewayConfig:
    """Read and parse a config file."""
    return parse_config(read_yaml(path), registry)


def apply_environment(config: GatewayConfig) -> None:
    """Export `environment_variables` into this process (existing variables win)."""
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)
