"""A key's `allowed_routes`: LiteLLM's route names and groups, compiled once per key for the hot path.

An entry is a path ("/chat/completions": that path and every path under it), a wildcard ("/key/*"), or
one of LiteLLM's route groups by name ("llm_api_routes", "openai_routes", "info_routes", ...), whose path
templates ("/openai/deployments/{model}/chat/completions") match any one segment per placeholder.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

OPENAI_ROUTES = (
    "/engines/{model}/chat/completions", "/openai/deployments/{model}/chat/completions", "/chat/completions",
    "/v1/chat/completions", "/engines/{model}/completions", "/openai/deployments/{model}/completions",
    "/completions", "/v1/completions", "/engines/{model}/embeddings", "/openai/deployments/{model}/embeddings",
    "/embeddings", "/v1/embeddings", "/images/generations", "/v1/images/generations", "/audio/speech",
    "/v1/audio/speech", "/audio/transcriptions", "/v1/audio/transcriptions", "/moderations", "/v1/moderations",
    "/models", "/v1/models", "/models/{model_id}", "/v1/models/{model_id}", "/responses", "/v1/responses",
    "/rerank", "/v1/rerank", "/v2/rerank", "/utils/token_counter",
    "/search", "/v1/search", "/search/{search_tool_name}", "/v1/search/{search_tool_name}")
ANTHROPIC_ROUTES = ("/v1/messages", "/v1/messages/count_tokens")
PASS_THROUGH = ("/bedrock", "/vertex-ai", "/vertex_ai", "/cohere", "/gemini", "/anthropic", "/azure", "/openai",
                "/vllm", "/mistral")
AGENT_ROUTES = ("/v1/agents", "/agents", "/a2a/{agent_id}", "/a2a/{agent_id}/message/send",
                "/a2a/{agent_id}/message/stream", "/a2a/{agent_id}/.well-known/agent-card.json")
INFO_ROUTES = ("/key/info", "/key/health", "/team/info", "/team/list", "/v2/team/list", "/organization/list",
               "/team/available", "/user/info", "/model/info", "/v1/model/info", "/v2/model/info",
               "/v2/key/info", "/model_group/info", "/health", "/key/list", "/models", "/v1/models")
KEY_MANAGEMENT_ROUTES = ("/key/generate", "/key/update", "/key/delete", "/key/info", "/key/regenerate",
                         "/key/service-account/generate", "/key/{key_id}/regenerate", "/key/list", "/key/block",
                         "/key/unblock", "/key/bulk_update")
MANAGEMENT_ROUTES = ("/user/new", "/user/update", "/user/delete", "/user/info", "/user/list", "/team/new",
                     "/team/update", "/team/delete", "/team/list", "/v2/team/list", "/team/info", "/team/block",
                     "/team/unblock", "/team/available", "/team/permissions_list", "/team/permissions_update",
                     "/model/new", "/model/update", "/model/delete", "/model/info", *KEY_MANAGEMENT_ROUTES)
SPEND_TRACKING_ROUTES = ("/spend/keys", "/spend/users", "/spend/tags", "/spend/calculate", "/spend/logs",
                         "/cost/estimate")
GLOBAL_SPEND_TRACKING_ROUTES = ("/global/spend/logs", "/global/spend", "/global/spend/keys", "/global/spend/teams",
                                "/global/spend/end_users", "/global/spend/models", "/global/predict/spend/logs",
                                "/global/spend/report", "/global/spend/provider", "/global/spend/tags")
ROUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "openai_routes": OPENAI_ROUTES,
    "anthropic_routes": ANTHROPIC_ROUTES,
    "mapped_pass_through_routes": PASS_THROUGH,
    "passthrough_routes_wildcard": tuple(f"{route}/*" for route in PASS_THROUGH),
    "agent_routes": AGENT_ROUTES,
    "llm_api_routes": (*OPENAI_ROUTES, *ANTHROPIC_ROUTES, *PASS_THROUGH, *(f"{r}/*" for r in PASS_THROUGH),
                       *AGENT_ROUTES),
    "info_routes": INFO_ROUTES,
    "key_management_routes": KEY_MANAGEMENT_ROUTES,
    "management_routes": MANAGEMENT_ROUTES,
    "spend_tracking_routes": SPEND_TRACKING_ROUTES,
    "global_spend_tracking_routes": GLOBAL_SPEND_TRACKING_ROUTES,
}
# LiteLLM's `key_type` on /key/generate: the routes a key of that type may call (`handle_key_type`, which writes
# them over `allowed_routes`); "default" leaves `allowed_routes` as given.
KEY_TYPE_ROUTES: dict[str, list[str]] = {"llm_api": ["llm_api_routes"], "management": ["management_routes"],
                                         "read_only": ["info_routes"]}
PLACEHOLDER = re.compile(r"\\\{[^/]*?\\\}")


@dataclass(frozen=True, slots=True)
class RouteRules:
    """The routes one key may call: exact paths, path prefixes (a path and what is under it), templates."""

    names: tuple[str, ...]  # as configured, for the error message
    exact: frozenset[str]
    prefixes: tuple[str, ...]
    templates: re.Pattern[str] | None

    def allows(self, path: str) -> bool:
        if path in self.exact:
            return True
        if any(path.startswith(prefix) for prefix in self.prefixes):
            return True
        return self.templates is not None and self.templates.fullmatch(path) is not None


def key_type_routes(key_type: object) -> dict[str, list[str]]:
    """The `allowed_routes` a new key of this `key_type` gets ({} for "default" or none)."""
    routes = KEY_TYPE_ROUTES.get(key_type) if isinstance(key_type, str) else None
    return {"allowed_routes": list(routes)} if routes is not None else {}


def _template(route: str) -> str:
    return PLACEHOLDER.sub("[^/]+", re.escape(route))


def compile_routes(allowed: object) -> RouteRules | None:
    """The rules for a key's `allowed_routes`, None when it has none (every route allowed)."""
    if not isinstance(allowed, list | tuple) or not allowed:
        return None
    names = tuple(str(entry) for entry in allowed)
    exact: set[str] = set()
    prefixes: list[str] = []
    templates: list[str] = []
    for name in names:
        for route in ROUTE_GROUPS.get(name, (name,)):
            if route.endswith("*"):
                prefixes.append(route[:-1])
            elif "{" in route:
                templates.append(_template(route))
            else:
                exact.add(route)
                if name not in ROUTE_GROUPS:
                    prefixes.append(route.rstrip("/") + "/")  # LiteLLM: an allowed path covers what is under it
    pattern = re.compile("|".join(templates)) if templates else None
    return RouteRules(names=names, exact=frozenset(exact), prefixes=tuple(prefixes), templates=pattern)
