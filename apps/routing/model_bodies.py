"""Bodies of LiteLLM's model management endpoints (`/model/new`, `/model/update`, `/model/delete`), checked.

Unknown top-level fields are refused naming the field; `litellm_params` may hold any provider parameter
(it is passed to the provider, as in config.yaml).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import InvalidRequest

ENTRY_FIELDS = frozenset({"model_name", "litellm_params", "model_info"})


@dataclass(frozen=True, slots=True)
class ModelChange:
    """A model entry as sent: everything for `/model/new`, only what changes for an update."""

    model_name: str | None = None
    litellm_params: dict[str, Any] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)

    @property
    def model_id(self) -> str | None:
        """`model_info.id` when the client chose one."""
        value = self.model_info.get("id")
        return None if value is None else str(value)


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def _refuse_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidRequest(f"{unknown[0]}: Unknown field '{unknown[0]}'.", param=unknown[0], code="invalid_value")


def _mapping(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{name}: must be an object.", param=name, code="invalid_type")
    return dict(value)


def _model_name(body: Mapping[str, Any], *, required: bool) -> str | None:
    value = body.get("model_name")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("model_name: must be a non-empty string.", param="model_name",
                             code="missing_required_parameter" if value is None else "invalid_type")
    return value


def parse_model_new(body: Any) -> ModelChange:
    """`/model/new`: model_name and litellm_params.model are required."""
    body = _object(body)
    _refuse_unknown(body, ENTRY_FIELDS)
    change = ModelChange(model_name=_model_name(body, required=True), litellm_params=_mapping(body, "litellm_params"),
                         model_info=_mapping(body, "model_info"))
    model = change.litellm_params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("litellm_params.model: required, e.g. openai/gpt-4o.", param="litellm_params.model",
                             code="missing_required_parameter")
    if change.model_id is not None and not change.model_id.strip():
        raise InvalidRequest("model_info.id: must be a non-empty string.", param="model_info.id", code="invalid_value")
    return change


def parse_model_update(body: Any, *, model_id: str | None = None) -> tuple[str, ModelChange]:
    """`/model/update` (the id in `model_info.id`) or `PATCH /model/{model_id}/update`: (id, what changes)."""
    body = _object(body)
    _refuse_unknown(body, ENTRY_FIELDS)
    change = ModelChange(model_name=_model_name(body, required=False), litellm_params=_mapping(body, "litellm_params"),
                         model_info=_mapping(body, "model_info"))
    chosen = model_id or change.model_id
    if not chosen:
        raise InvalidRequest("model_info.id: required (the id of the model to update).", param="model_info.id",
                             code="missing_required_parameter")
    return chosen, change


def parse_model_delete(body: Any) -> str:
    """`/model/delete`: `{"id": ...}`."""
    body = _object(body)
    _refuse_unknown(body, frozenset({"id"}))
    value = body.get("id")
    if value is None or not str(value).strip() or isinstance(value, (bool, dict, list)):
        raise InvalidRequest("id: required (the id of the model to delete).", param="id",
                             code="missing_required_parameter")
    return str(value)
