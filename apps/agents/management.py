"""The agent registry's writes: LiteLLM's /v1/agents bodies in and answers out, config.yaml's agent_list, and the
card of a remote agent fetched once."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction

from apps.agents.cards import card_urls, points_at_gateway
from apps.agents.models import Agent
from apps.agents.registry import GENERATION
from apps.agents.store import in_thread
from apps.core.errors import InvalidRequest, NotFound
from apps.core.secret_params import kept, redacted
from apps.core.snapshots import snapshot_bump

AGENT_FIELDS = frozenset({"agent_name", "agent_card_params", "litellm_params", "agent_id"})
OUR_PARAMS = ("allowed_teams", "allowed_keys", "rpm_limit", "protocol_version", "enabled")


def kind_of(params: dict[str, Any], card: dict[str, Any]) -> str:
    """remote when it names where the agent lives (api_base, or a card with a url and no model), else hosted."""
    if params.get("model"):
        return Agent.Kind.HOSTED
    return Agent.Kind.REMOTE if params.get("api_base") or card.get("url") or card.get("supportedInterfaces") \
        else Agent.Kind.HOSTED


def checked_body(body: Any, *, partial: bool) -> dict[str, Any]:
    """A /v1/agents body: known fields only, the right types, a name unless partial."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    unknown = sorted(set(body) - AGENT_FIELDS)
    if unknown:
        raise InvalidRequest(f"Unknown field '{unknown[0]}'.", param=unknown[0], code="unknown_field")
    if not partial and not (isinstance(body.get("agent_name"), str) and body["agent_name"].strip()):
        raise InvalidRequest("'agent_name' is required.", param="agent_name", code="missing_required_parameter")
    for name in ("agent_card_params", "litellm_params"):
        if name in body and body[name] is not None and not isinstance(body[name], dict):
            raise InvalidRequest(f"'{name}' must be an object.", param=name, code="invalid_type")
    if not partial and not isinstance(body.get("agent_card_params"), dict):
        raise InvalidRequest("'agent_card_params' is required.", param="agent_card_params",
                             code="missing_required_parameter")
    return body


def check_card_target(row: Agent, *, gateway_base: str) -> None:
    """Refuse a card that names the gateway's own endpoint for this agent (the card GET answers a caller that is
    not an admin, or one copied from discovery): as a remote's address it would forward the agent to itself."""
    for url in card_urls(row.agent_card_params or {}):
        if points_at_gateway(url, agent_id=row.agent_id, base_url=gateway_base):
            raise InvalidRequest(f"agent_card_params names the gateway's own endpoint {url}; give the agent's own "
                                 "URL (or litellm_params.api_base).", param="agent_card_params.url",
                                 code="agent_card_points_at_gateway")


def apply_fields(row: Agent, body: dict[str, Any]) -> None:
    if "agent_name" in body:
        row.agent_name = body["agent_name"].strip()
    if "agent_card_params" in body:
        row.agent_card_params = body["agent_card_params"] or {}
    if "litellm_params" in body:
        row.litellm_params = kept(body["litellm_params"] or {}, row.litellm_params)  # a masked secret sent back
    card, params = row.agent_card_params, row.litellm_params
    row.description = str(card.get("description") or row.description or "")
    row.version = str(card.get("version") or row.version or "1.0.0")
    row.skills = list(card.get("skills") or row.skills or [])
    row.kind = Agent.Kind.CODE if row.kind == Agent.Kind.CODE else kind_of(params, card)
    for name in OUR_PARAMS:
        if name in params:
            setattr(row, name, params[name])


def agent_answer(row: Agent) -> dict[str, Any]:
    """LiteLLM's AgentResponse."""
    return {"agent_id": row.agent_id, "agent_name": row.agent_name, "litellm_params": redacted(row.litellm_params),
            "agent_card_params": row.agent_card_params, "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(), "created_by": row.created_by, "updated_by": row.updated_by}


def name_taken(name: str, *, other_than: str = "") -> bool:
    return Agent.objects.filter(agent_name=name).exclude(agent_id=other_than).exists()


def agent_create(*, body: Any, created_by: str, gateway_base: str = "") -> dict[str, Any]:
    fields = checked_body(body, partial=False)
    if name_taken(fields["agent_name"].strip()):
        raise InvalidRequest(f"Agent with name {fields['agent_name']} already exists", param="agent_name",
                             code="agent_exists")
    row = Agent(created_by=created_by, updated_by=created_by)
    if isinstance(fields.get("agent_id"), str) and fields["agent_id"]:
        row.agent_id = fields["agent_id"]
    apply_fields(row, fields)
    check_card_target(row, gateway_base=gateway_base)
    with transaction.atomic():
        row.save()
        snapshot_bump(GENERATION)
    return agent_answer(row)


def agent_row(agent_id: str) -> Agent:
    row = Agent.objects.filter(agent_id=agent_id).first()
    if row is None:
        raise NotFound(f"Agent with ID {agent_id} not found", param="agent_id")
    return row


def agent_update(*, agent_id: str, body: Any, updated_by: str, partial: bool,
                 gateway_base: str = "") -> dict[str, Any]:
    """PUT replaces the three fields, PATCH changes the ones sent."""
    fields = checked_body(body, partial=partial)
    row = agent_row(agent_id)
    if row.source == "config":
        raise InvalidRequest(f"Agent {agent_id} comes from config.yaml; change it there.", code="agent_in_config")
    if "agent_name" in fields and name_taken(fields["agent_name"].strip(), other_than=agent_id):
        raise InvalidRequest(f"Agent with name {fields['agent_name']} already exists", param="agent_name",
                             code="agent_exists")
    if not partial:
        fields.setdefault("litellm_params", {})
    apply_fields(row, fields)
    check_card_target(row, gateway_base=gateway_base)
    row.updated_by = updated_by
    row.remote_card = None  # a new card or endpoint: fetch again when needed
    with transaction.atomic():
        row.save()
        snapshot_bump(GENERATION)
    return agent_answer(row)


def agent_delete(*, agent_id: str) -> dict[str, str]:
    row = agent_row(agent_id)
    with transaction.atomic():
        row.delete()
        snapshot_bump(GENERATION)
    return {"message": f"Agent {agent_id} deleted successfully"}


def agent_get(*, agent_id: str) -> dict[str, Any]:
    return agent_answer(agent_row(agent_id))


def agent_rows() -> dict[str, Agent]:
    return {row.agent_id: row for row in Agent.objects.all()}


def _remote_card_save(*, agent_id: str, card: dict[str, Any]) -> None:
    with transaction.atomic():
        Agent.objects.filter(agent_id=agent_id).update(remote_card=card)
        snapshot_bump(GENERATION)


async def remote_card_store(agent_id: str, card: dict[str, Any]) -> None:
    """Keep a remote agent's card once fetched: it is used from then on, in every process."""
    await in_thread(_remote_card_save, agent_id=agent_id, card=card)


def config_agent_id(entry: dict[str, Any]) -> str:
    """LiteLLM's id for a config agent: the SHA-256 of the entry as sorted JSON."""
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()


def agents_sync_from_config(entries: tuple[dict[str, Any], ...]) -> None:
    """Make config-sourced agents match `agent_list` (remove the ones it dropped, then create and update)."""
    wanted = {config_agent_id(entry): entry for entry in entries}
    Agent.objects.filter(source="config").exclude(agent_id__in=list(wanted)).delete()
    existing = {row.agent_id: row for row in Agent.objects.select_for_update().filter(source="config")}
    for agent_id, entry in wanted.items():
        if name_taken(str(entry["agent_name"]).strip(), other_than=agent_id):
            raise InvalidRequest(f"an agent named {entry['agent_name']} already exists outside config.yaml",
                                 param="agent_name", code="agent_exists")
        row = existing.get(agent_id) or Agent(agent_id=agent_id, source="config", created_by="config")
        apply_fields(row, checked_body({k: v for k, v in entry.items() if k in AGENT_FIELDS}, partial=False))
        check_card_target(row, gateway_base="")
        row.updated_by = "config"
        row.save()
    snapshot_bump(GENERATION)
