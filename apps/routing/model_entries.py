"""Deployments as LiteLLM's model entries (`model_name`, `litellm_params`, `model_info`), never with a secret.

As LiteLLM does, `api_key` and the other credentials are left out of `litellm_params`, and any other
parameter whose name says it holds a secret (`apps.core.secret_params`: `..._token`, `..._secret`, headers like
`Authorization`) is masked, wholly (LiteLLM shows its first and last four characters); `os.environ/NAME`
references are shown, they are not secrets.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from apps.core.secret_params import ENV_PREFIX, redacted
from apps.routing.models import Deployment
from apps.routing.snapshot import list_price

OMITTED = frozenset({"api_key", "client_secret", "vertex_credentials", "aws_access_key_id", "aws_secret_access_key"})


class ModelEntry(TypedDict):
    """One deployment as `/model/info` lists it."""

    model_name: str
    litellm_params: dict[str, Any]
    model_info: dict[str, Any]


class ModelRow(TypedDict):
    """A stored model as `/model/new` and `/model/update` answer (LiteLLM's proxy model table row)."""

    model_id: str
    model_name: str
    litellm_params: dict[str, Any]
    model_info: dict[str, Any]
    created_at: str
    updated_at: str


def model_id_of(row: Deployment) -> str:
    """LiteLLM's model id: the one chosen (model_info.id, in config or `/model/new`), else the deployment number."""
    return row.config_id or str(row.pk)


def _number(value: Decimal | float | int | None) -> float | int | None:
    return float(value) if isinstance(value, Decimal) else value


def stored_params(row: Deployment) -> dict[str, Any]:
    """The deployment's litellm_params as written (an env-var key as `os.environ/NAME`; a stored key left out)."""
    params: dict[str, Any] = {"model": f"{row.provider}/{row.provider_model}"}
    for name in ("api_base", "api_version"):
        if getattr(row, name):
            params[name] = getattr(row, name)
    if row.api_key_env:
        params["api_key"] = ENV_PREFIX + row.api_key_env
    for name in ("timeout", "rpm", "tpm", "input_cost_per_token", "output_cost_per_token"):
        value = _number(getattr(row, name))
        if value is not None:
            params[name] = value
    if row.weight != 1.0:
        params["weight"] = row.weight
    params.update(row.litellm_params or {})
    return params


def shown_params(row: Deployment) -> dict[str, Any]:
    """litellm_params safe to show anyone who may see the model."""
    return redacted({k: v for k, v in stored_params(row).items() if k not in OMITTED})


def shown_info(row: Deployment) -> dict[str, Any]:
    """model_info with LiteLLM's id and db_model, and the price table's numbers where the row gives none."""
    info: dict[str, Any] = {}
    price = None if "*" in row.provider_model else list_price(row.provider, row.provider_model)
    if price is not None:
        info.update(input_cost_per_token=float(price.input_cost_per_token),
                    output_cost_per_token=float(price.output_cost_per_token),
                    max_input_tokens=price.max_input_tokens, max_output_tokens=price.max_output_tokens)
    for name in ("input_cost_per_token", "output_cost_per_token"):
        if getattr(row, name) is not None:
            info[name] = float(getattr(row, name))
    info.update(row.model_info or {})  # LiteLLM masks litellm_params only: model_info holds no credentials
    info.update(id=model_id_of(row), db_model=row.source != Deployment.Source.CONFIG, litellm_provider=row.provider,
                mode=(row.model_info or {}).get("mode") or "chat", enabled=row.enabled,
                created_at=row.created_at.isoformat(), updated_at=row.updated_at.isoformat())
    return info


def model_entry(row: Deployment) -> ModelEntry:
    """The `/model/info` entry of one deployment."""
    return {"model_name": row.model_name, "litellm_params": shown_params(row), "model_info": shown_info(row)}


def model_row(row: Deployment) -> ModelRow:
    """The `/model/new` and `/model/update` answer for one stored model."""
    return {"model_id": model_id_of(row), "model_name": row.model_name, "litellm_params": shown_params(row),
            "model_info": shown_info(row), "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat()}
