"""config.yaml's `search_tools` (top level, else `general_settings.search_tools`, as LiteLLM reads them), checked."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core import jsonutil
from apps.providers.search.registry import SEARCH_PROVIDERS
from apps.routing.config_source import ConfigError, Path_

ENV_PREFIX = "os.environ/"
ENTRY_KEYS = frozenset({"search_tool_name", "litellm_params", "search_tool_info", "search_tool_id"})
PARAM_KEYS = frozenset({"search_provider", "api_key", "api_base", "timeout", "max_retries", "search_engine_id",
                        "input_cost_per_query"})


@dataclass(frozen=True, slots=True)
class SearchToolSpec:
    """One `search_tools` entry, normalised; `os.environ/NAME` keys are kept as the variable's name."""

    config_id: str
    search_tool_name: str
    search_provider: str
    api_base: str = ""
    api_key_env: str = ""
    api_key_literal: str = ""
    litellm_params: dict[str, Any] = field(default_factory=dict)
    search_tool_info: dict[str, Any] = field(default_factory=dict)


def raw_search_tools(data: Mapping[str, Any]) -> tuple[list[Any], Path_]:
    """The entries and where they are written."""
    found = data.get("search_tools")
    if found:
        path: Path_ = ("search_tools",)
    else:
        general = data.get("general_settings")
        found = general.get("search_tools") if isinstance(general, Mapping) else None
        path = ("general_settings", "search_tools")
    if found is None:
        return [], path
    if not isinstance(found, list):
        raise ConfigError("search_tools must be a list of search tools", path=path)
    return found, path


def env_value(value: Any, env: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """A parameter as a string: `os.environ/NAME` read from the process, else the file's environment_variables."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX):]
        return str(environ.get(name, env.get(name, "")))
    return "" if value is None else str(value)


def parse_search_tool(index: int, raw: Any, *, path: Path_, env: Mapping[str, str],
                      environ: Mapping[str, str]) -> SearchToolSpec:
    """One entry; a missing name or provider, or a provider Tollgate has none for, stops the load naming it."""
    where: Path_ = (*path, index)
    if not isinstance(raw, dict) or not isinstance(raw.get("search_tool_name"), str) or not raw["search_tool_name"]:
        raise ConfigError(f"search_tools[{index}]: needs a string search_tool_name", path=where)
    params = raw.get("litellm_params")
    if not isinstance(params, dict) or not isinstance(params.get("search_provider"), str):
        raise ConfigError(f"search_tools[{index}]: needs litellm_params.search_provider (e.g. tavily)",
                          path=(*where, "litellm_params"))
    provider = params["search_provider"]
    info = raw.get("search_tool_info") or {}
    if not isinstance(info, dict):
        raise ConfigError(f"search_tools[{index}]: search_tool_info must be a mapping", path=(*where, "search_tool_info"))
    api_key = params.get("api_key")
    key_env = api_key[len(ENV_PREFIX):] if isinstance(api_key, str) and api_key.startswith(ENV_PREFIX) else ""
    extra = {k: v for k, v in params.items() if k not in ("search_provider", "api_key", "api_base")}
    for name in ("timeout", "input_cost_per_query"):
        if extra.get(name) is not None and (isinstance(extra[name], bool) or not isinstance(extra[name], (int, float))):
            raise ConfigError(f"search_tools[{index}]: litellm_params.{name} must be a number, got {extra[name]!r}",
                              path=(*where, "litellm_params", name))
    fingerprint = jsonutil.dumps({"name": raw["search_tool_name"], "params": params}).decode()
    return SearchToolSpec(
        config_id=str(raw.get("search_tool_id") or hashlib.sha256(fingerprint.encode()).hexdigest()[:32]),
        search_tool_name=raw["search_tool_name"], search_provider=provider,
        api_base=env_value(params.get("api_base"), env, environ), api_key_env=key_env,
        api_key_literal="" if key_env or not api_key else str(api_key), litellm_params=extra, search_tool_info=info)


def search_tool_warnings(raw: list[Any], path: Path_) -> list[tuple[Path_, str]]:
    """Keys of an entry or its litellm_params that neither LiteLLM nor Tollgate reads, and providers Tollgate has
    none for (such a tool is kept and listed, and its calls get 400 `unsupported_provider`)."""
    warnings: list[tuple[Path_, str]] = []
    for index, entry in enumerate(raw):
        provider = entry["litellm_params"]["search_provider"]
        if provider not in SEARCH_PROVIDERS:
            warnings.append(((*path, index, "litellm_params", "search_provider"),
                             f"search_tools[{index}]: search_provider {provider!r} is not supported by Tollgate (it "
                             f"has {', '.join(sorted(SEARCH_PROVIDERS))}); the tool is kept and calls to it get 400"))
        warnings += [((*path, index, key), f"unknown key {key!r} in search_tools[{index}] ignored")
                     for key in entry if key not in ENTRY_KEYS]
        warnings += [((*path, index, "litellm_params", key),
                      f"unknown key {key!r} in search_tools[{index}].litellm_params ignored")
                     for key in entry["litellm_params"] if key not in PARAM_KEYS]
    return warnings


def parse_search_tools(data: Mapping[str, Any], env: Mapping[str, str],
                       environ: Mapping[str, str]) -> tuple[tuple[SearchToolSpec, ...], list[tuple[Path_, str]]]:
    """Every search tool of the file, and the warnings about them."""
    raw, path = raw_search_tools(data)
    specs = tuple(parse_search_tool(i, entry, path=path, env=env, environ=environ) for i, entry in enumerate(raw))
    return specs, search_tool_warnings(raw, path)
