"""Requests about one passed-through response to the deployment that made it (it alone holds it upstream)."""
from __future__ import annotations

from typing import Any

from apps.core import jsonutil
from apps.core.errors import NotFound
from apps.providers import transport
from apps.providers.adapters.responses_api import responses_endpoint
from apps.providers.base import UpstreamRequest
from apps.providers.registry import adapter_for
from apps.providers.responses.passthrough import Renamer
from apps.routing.responses_store import ResponseRecord
from apps.routing.responses_turn import gateway_id
from apps.routing.snapshot import DeploymentRecord, routing_table


class ResponseNotFound(NotFound):
    code = "response_not_found"


async def deployment_of(record: ResponseRecord) -> DeploymentRecord:
    """The deployment that made a passed-through response (it alone holds it upstream)."""
    table = await routing_table.get()
    found = next((d for d in table.deployments(record.model_group) if d.public_id == record.deployment_id), None)
    if found is None:
        raise ResponseNotFound(f"Response with id '{record.response_id}' was made by deployment "
                               f"'{record.deployment_id}', which is no longer configured.", param="response_id")
    return found


async def forwarded(record: ResponseRecord, *, method: str, suffix: str = "") -> dict[str, Any]:
    """The provider's answer about a passed-through response, with the gateway's ids."""
    deployment = await deployment_of(record)
    target = deployment.target
    adapter = adapter_for(target.provider)
    endpoint = responses_endpoint(adapter)
    assert endpoint is not None, "only passed-through responses are forwarded"
    request: UpstreamRequest = endpoint.about(target, record.upstream_id, method=method, suffix=suffix)
    _, raw = await transport.send(adapter, request, target)
    data = jsonutil.loads(raw) if raw else {}
    if data.get("object") != "response":
        return dict(data)
    renamer = Renamer(encode=lambda value: gateway_id(deployment, value),
                      previous_response_id=record.previous_response_id or None)
    return renamer(data)
