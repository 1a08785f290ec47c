"""One /v1/responses turn before it is routed: the conversation it continues, the chat call it stands for, the
body each kind of deployment gets, and the record it is stored as once answered."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from apps.core.errors import InvalidRequest, NotFound
from apps.providers.responses import ids
from apps.providers.responses.items import portable
from apps.providers.responses.output import item_id
from apps.providers.responses.request import BridgedCall, bridged_call
from apps.routing import responses_store as store
from apps.routing.responses_parsing import ResponsesRequest
from apps.routing.responses_store import ResponseRecord
from apps.routing.snapshot import DeploymentRecord
from apps.teams.auth import Principal

CALL_TYPE = "aresponses"  # LiteLLM's call type for /v1/responses
logger = logging.getLogger("tollgate.responses")


class PreviousResponseNotFound(NotFound):
    code = "previous_response_not_found"


class NotServedOverChat(InvalidRequest):
    """The call holds items or tools only a provider with the Responses API can take, and went to one without."""

    code = "unsupported_input"


@dataclass(frozen=True, slots=True)
class Turn:
    """A checked request, the stored response it continues (if any) and its chat call over the whole conversation."""

    request: ResponsesRequest
    previous: ResponseRecord | None
    bridged: BridgedCall

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.previous.context if self.previous is not None else []

    def routed_as(self, model: str) -> Turn:
        """The turn for the model group the call was routed to (the key's alias applied)."""
        if model == self.bridged.call.model:
            return self
        return replace(self, bridged=replace(self.bridged, call=replace(self.bridged.call, model=model)))

    def upstream_body(self, deployment: DeploymentRecord) -> dict[str, Any]:
        """The body for a deployment with the Responses API: its own previous response id when it made the earlier
        turn, else the earlier turns themselves as input."""
        body = dict(self.request.body)
        previous = self.previous
        if previous is None:
            return body
        if previous.passed_through and previous.deployment_id == deployment.public_id:
            body["previous_response_id"] = previous.upstream_id
            return body
        body.pop("previous_response_id", None)
        body["input"] = [*portable(previous.context), *self.request.items]
        return body

    def check_bridgeable(self, deployment: DeploymentRecord) -> None:
        """A 400 naming what chat cannot carry, for a deployment without the Responses API."""
        problems = self.bridged.problems
        if problems:
            raise NotServedOverChat(
                f"The model `{deployment.model_name}` is served over chat by provider {deployment.target.provider}, "
                f"which cannot take {'; '.join(problems)}. Those are served only by deployments with the Responses "
                "API (OpenAI, Azure).", param=problems[0].split(":", 1)[0])

    def record(self, principal: Principal, *, response_id: str, deployment: DeploymentRecord, group: str,
               upstream_id: str, body: dict[str, Any]) -> ResponseRecord:
        """What is stored for this turn's answer `body`."""
        key_id, team_id = store.owner(principal)
        items = listed_items(self.request.items)
        return ResponseRecord(response_id=response_id, key_id=key_id, team_id=team_id, model_group=group,
                              deployment_id=deployment.public_id, provider=deployment.target.provider,
                              upstream_id=upstream_id, previous_response_id=self.request.previous_response_id,
                              body=body, input_items=items, context=[*self.history, *items, *body.get("output", [])])


def listed_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input items as `input_items` lists them: each with an id, message text as content parts."""
    listed = []
    for item in items:
        item = {**item, "id": item.get("id") or item_id("msg" if item["type"] == "message" else "item")}
        if item["type"] == "message" and isinstance(item["content"], str):
            kind = "output_text" if item["role"] == "assistant" else "input_text"
            item["content"] = [{"type": kind, "text": item["content"]}]
        listed.append(item)
    return listed


async def turn_for(principal: Principal, request: ResponsesRequest) -> Turn:
    """The turn, with the stored response it continues (404 when the caller has none by that id)."""
    previous = None
    if request.previous_response_id:
        previous = await store.find(request.previous_response_id, principal)
        if previous is None:
            raise PreviousResponseNotFound(f"Previous response with id '{request.previous_response_id}' not found.",
                                           param="previous_response_id")
    history = portable(previous.context) if previous is not None else []
    return Turn(request=request, previous=previous, bridged=bridged_call(request.body, [*history, *request.items]))


def gateway_id(deployment: DeploymentRecord, upstream_id: str) -> str:
    """The id the client gets for a response `deployment` made under `upstream_id`."""
    return ids.encode(provider=deployment.target.provider, model_id=deployment.public_id, response_id=upstream_id)


async def saved(record: ResponseRecord) -> None:
    """Store the record; a database failure is logged and the answer still goes out (it is already billed)."""
    try:
        await store.save(record)
    except Exception:  # noqa: BLE001 - the client's answer must not be lost for a failed write
        logger.exception("could not store response %s", record.response_id)
