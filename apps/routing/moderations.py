"""`/v1/moderations` without HTTP: free (cost 0, as OpenAI prices it), still admitted, rate-limited, routed and
logged like any call."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from apps.core.errors import InvalidRequest
from apps.providers.base import Usage
from apps.providers.moderations import ModerationCall, ModerationResult, send_moderation
from apps.providers.registry import adapter_for
from apps.routing.calls import table_for, target_for
from apps.routing.parsing import GATEWAY_FIELDS, CallOptions, call_options, parse_json_object, without_litellm_fields
from apps.routing.router import Served, route
from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies import CallShape
from apps.teams.auth import Principal
from apps.teams.metering import admit, request_end_user, request_tags

DEFAULT_MODEL = "omni-moderation-latest"  # OpenAI's, when the body names none


def valid_input(value: Any) -> bool:
    """A non-empty string, array of strings, or array of multimodal parts (objects)."""
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(item, (str, dict)) for item in value)


def parse_moderation_request(raw: bytes) -> tuple[ModerationCall, CallOptions]:
    """A moderations body as a ModerationCall and its routing options."""
    body = parse_json_object(raw)
    model = body.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("model must be a non-empty string", param="model", code="invalid_type")
    value = body.get("input")
    if value is None:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    if not valid_input(value):
        raise InvalidRequest("'input' must be a non-empty string or array.", param="input", code="invalid_value")
    params = {k: v for k, v in body.items() if k not in ("model", "input") and k not in GATEWAY_FIELDS}
    return ModerationCall(model=model, input=value, params=params), call_options(body)


async def moderation(principal: Principal, call: ModerationCall, options: CallOptions, *,
                     request_id: str = "") -> Served[ModerationResult]:
    """Moderation results from the first deployment that gives them."""
    table, call = await table_for(principal, call)
    meter = await admit(principal, model=call.model, call_type="moderation", worst_case=lambda: 0,
                        request_id=request_id, tags=request_tags(call.params), end_user=request_end_user(call.params))
    call = replace(call, params=without_litellm_fields(call.params, user=False))  # OpenAI's has no `user`

    async def attempt(deployment: DeploymentRecord) -> ModerationResult:
        target = target_for(deployment, options)
        return await send_moderation(adapter_for(target.provider), call, target)

    try:
        served = await route(table, call.model, options, attempt, meter, shape=CallShape(mode="moderation"))
    except BaseException:
        meter.finish_soon(None, Usage(), price=None)
        raise
    meter.finish_soon(served.deployment, served.value.usage, price=None)
    return served
