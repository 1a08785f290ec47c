"""The agent card the gateway serves for each agent: every interface URL is the gateway's own (clients call
what the card says, so a card passed through unchanged would send them around us) and the security scheme is
the gateway's bearer key. Without `A2A-Version: 1.0` the card carries 0.3's fields as well (`url`,
`preferredTransport`, `protocolVersion`, security in 0.3's shape), which 1.x SDKs read too."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apps.agents.registry import AgentRecord
from apps.agents.wire import Json, Version

CARD_FIELDS = ("provider", "documentationUrl", "iconUrl", "defaultInputModes", "defaultOutputModes")
LEGACY_SECURITY = {"bearer": {"type": "http", "scheme": "bearer", "description": "a Tollgate virtual key"}}
SECURITY = {"bearer": {"httpAuthSecurityScheme": {"scheme": "bearer", "description": "a Tollgate virtual key"}}}


def endpoint_url(base_url: str, agent: AgentRecord) -> str:
    return f"{base_url.rstrip('/')}/a2a/{agent.agent_id}"


def card_urls(card: Json) -> list[str]:
    """Every endpoint URL a card names (0.3's `url` and `additionalInterfaces`, 1.0's `supportedInterfaces`)."""
    urls = [card.get("url")] + [i.get("url") for key in ("supportedInterfaces", "additionalInterfaces")
                                for i in card.get(key) or [] if isinstance(i, dict)]
    return [url for url in urls if isinstance(url, str) and url]


def points_at_gateway(url: str, *, agent_id: str, base_url: str = "") -> bool:
    """Whether `url` is the gateway's own endpoint for this agent (a served card put back as the registered one:
    calling it would forward the agent to itself): its id's path, or any /a2a/ path under `base_url`. (By id only:
    another gateway's agent of the same name is a fine remote.)"""
    if urlsplit(url).path.rstrip("/").endswith(f"/a2a/{agent_id}"):
        return True
    return bool(base_url) and url.startswith(f"{base_url.rstrip('/')}/a2a/")


def skills_of(agent: AgentRecord) -> list[dict[str, Any]]:
    skills = [dict(skill) for skill in agent.skills if isinstance(skill, dict)]
    for skill in skills:
        skill.setdefault("tags", [])
        skill.setdefault("description", skill.get("name", ""))
    return skills or [{"id": agent.name, "name": agent.name, "description": agent.description or agent.name,
                       "tags": [agent.kind]}]


def agent_card(agent: AgentRecord, *, base_url: str, version: Version) -> Json:
    """The card for `agent` as served at `base_url`, for a client of `version`."""
    url = endpoint_url(base_url, agent)
    registered = agent.card_params
    pushes = agent.push_notifications
    card: Json = {
        "name": str(registered.get("name") or agent.name), "description": agent.description or agent.name,
        "version": agent.version,
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                                {"url": url, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
                                {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"}],
        "capabilities": {"streaming": True, "pushNotifications": pushes, "extendedAgentCard": agent.extended_card},
        "defaultInputModes": ["text"], "defaultOutputModes": ["text"], "skills": skills_of(agent),
    }
    card.update({name: registered[name] for name in CARD_FIELDS if name in registered})
    if version == "1.0":
        card["securitySchemes"] = SECURITY
        card["securityRequirements"] = [{"schemes": {"bearer": {"list": []}}}]
        return card
    card.update({"protocolVersion": "0.3.0", "url": url, "preferredTransport": "JSONRPC",
                 "additionalInterfaces": [{"url": url, "transport": "JSONRPC"}],
                 "securitySchemes": LEGACY_SECURITY, "security": [{"bearer": []}],
                 "supportsAuthenticatedExtendedCard": agent.extended_card})
    card["capabilities"] = {"streaming": True, "pushNotifications": pushes, "stateTransitionHistory": True}
    return card
