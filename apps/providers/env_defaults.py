"""A call's missing `api_base` / `api_key` / `api_version`, from its provider's standard environment variables.

As LiteLLM reads them (`OPENAI_BASE_URL` / `OPENAI_API_BASE`, `ANTHROPIC_API_KEY`, `AZURE_API_VERSION`, ...):
each adapter class names its variables in `api_base_env`, `api_key_env` and `api_version_env`, first set one
wins, and a value the call or deployment gives itself always wins over them. The SDK fills a Target per call;
the gateway once, when it builds the routing snapshot (never per request), so nothing read here reaches the
database.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from apps.providers.base import Target
from apps.providers.registry import ADAPTERS, adapter_for

FIELDS = ("api_base", "api_key", "api_version")


def env_names(provider: str) -> dict[str, tuple[str, ...]]:
    """Target field -> the variables a provider reads it from (none for a provider without an adapter)."""
    if provider not in ADAPTERS:
        return {}
    adapter = adapter_for(provider)
    return {name: tuple(getattr(adapter, f"{name}_env", ())) for name in FIELDS}


def first_set(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    """The value of the first of `names` that is set and not empty."""
    return next((environ[name] for name in names if environ.get(name)), None)


def with_env_defaults(target: Target, environ: Mapping[str, str] | None = None) -> Target:
    """`target` with each of api_base / api_key / api_version it lacks taken from the provider's variables."""
    environ = os.environ if environ is None else environ
    filled = {name: value for name, names in env_names(target.provider).items()
              if not getattr(target, name) and (value := first_set(names, environ)) is not None}
    return replace(target, **filled) if filled else target  # type: ignore[arg-type]
