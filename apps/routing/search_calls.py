"""`/v1/search` without HTTP: LiteLLM's Search API body checked, the tool's access and budgets applied, routed
over the tool's providers like chat over deployments, billed per query."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.core.errors import InvalidRequest, ModelNotFound
from apps.providers.base import Usage
from apps.providers.search.base import SearchCall, SearchResult
from apps.providers.search.registry import SEARCH_PROVIDERS
from apps.providers.search.send import send_search
from apps.routing.calls import target_for
from apps.routing.parsing import GATEWAY_FIELDS, CallOptions, call_options, check_type, parse_json_object
from apps.routing.router import Served, fallback_models, route
from apps.routing.search_table import search_table
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.strategies import CallShape
from apps.teams.access import check_model_access, model_allowed
from apps.teams.auth import Principal
from apps.teams.costing import to_nanos
from apps.teams.metering import admit, request_end_user, request_tags

CALL_TYPE = "search"  # LiteLLM's CallTypes.search (its proxy's `asearch`), as rerank is logged `rerank`
MAX_RESULTS = 20  # LiteLLM's (Perplexity's) range for max_results: 1-20
MAX_DOMAINS = 20
# Fields the gateway reads and does not pass on to the provider (LiteLLM's own parameters).
OWN_FIELDS = frozenset({"search_tool_name", "model", "query", "max_results", "search_domain_filter",
                        "max_tokens_per_page", "country", "metadata", "litellm_metadata", "user", "tags"})


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A checked `/v1/search` body: the call, its routing options, and the tags and end user it is billed with."""

    call: SearchCall
    options: CallOptions
    tags: tuple[str, ...] = ()
    end_user: str = ""


class SearchToolNotFound(ModelNotFound):
    code = "search_tool_not_found"


def bad(name: str, message: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=name, code=code)


def parse_query(value: Any) -> str | tuple[str, ...]:
    """A non-empty string or a non-empty array of non-empty strings."""
    if value is None:
        raise bad("query", "Missing required parameter: 'query'.", "missing_required_parameter")
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(q, str) and q.strip() for q in value):
        return tuple(value)
    raise bad("query", "'query' must be a non-empty string or a non-empty array of non-empty strings.")


def bounded(body: dict[str, Any], name: str, top: int | None) -> int | None:
    value = body.get(name)
    check_type(name, value, (int,))
    if value is not None and (value < 1 or (top is not None and value > top)):
        span = f"between 1 and {top}" if top is not None else "at least 1"
        raise bad(name, f"Invalid value for '{name}': {value}; it must be {span}.")
    return value


def domains(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
        raise bad("search_domain_filter", "'search_domain_filter' must be an array of domain names.", "invalid_type")
    if len(value) > MAX_DOMAINS:
        raise bad("search_domain_filter", f"'search_domain_filter' takes at most {MAX_DOMAINS} domains.")
    return tuple(value)


def tool_name(body: dict[str, Any], in_path: str | None) -> str:
    """The tool: the path's name wins over the body's `search_tool_name`, as in LiteLLM."""
    name = in_path if in_path else body.get("search_tool_name")
    if name is None:
        raise bad("search_tool_name", "Name the search tool: POST /v1/search/{search_tool_name}, or "
                  "'search_tool_name' in the body.", "missing_required_parameter")
    if not isinstance(name, str) or not name.strip():
        raise bad("search_tool_name", "'search_tool_name' must be a non-empty string.", "invalid_type")
    return name


def parse_search_request(raw: bytes, in_path: str | None = None) -> SearchRequest:
    """A LiteLLM Search API body (Perplexity's fields; anything else is the provider's own, passed on)."""
    body = parse_json_object(raw)
    tool = tool_name(body, in_path)
    query = parse_query(body.get("query"))
    country = body.get("country")
    check_type("country", country, (str,))
    if country is not None and not country.strip():
        raise bad("country", "'country' must be a country code such as 'US'.")
    call = SearchCall(tool=tool, query=query, max_results=bounded(body, "max_results", MAX_RESULTS),
                      search_domain_filter=domains(body.get("search_domain_filter")),
                      max_tokens_per_page=bounded(body, "max_tokens_per_page", None), country=country,
                      params={k: v for k, v in body.items() if k not in OWN_FIELDS and k not in GATEWAY_FIELDS})
    return SearchRequest(call=call, options=call_options(body), tags=request_tags(body),
                         end_user=request_end_user(body))


def query_cost(deployment: DeploymentRecord, call: SearchCall) -> int:
    """The tool's price for the call in nanodollars: its `input_cost_per_query`, else the provider's, per query."""
    provider = SEARCH_PROVIDERS.get(deployment.target.provider)
    if provider is None:
        return 0
    given = deployment.model_info.get("input_cost_per_query")
    per_query = Decimal(given) if given is not None else provider.price(call)
    return to_nanos(per_query * provider.queries_sent(call), up=True)


def reachable(table: RoutingTable, call: SearchCall, options: CallOptions) -> list[DeploymentRecord]:
    names = (call.tool, *fallback_models(table, call.tool, options))
    return [deployment for name in names for deployment in table.deployments(name)]


async def tool_table(principal: Principal, tool: str) -> RoutingTable:
    """The search table, once the tool exists and the caller may use it (a key's `models` names its tools)."""
    table = await search_table.get()
    if not table.deployments(tool):
        raise SearchToolNotFound(f"The search tool `{tool}` does not exist or you do not have access to it.",
                                 param="search_tool_name")
    check_model_access(principal, tool, table.access_groups)
    return table


async def search(principal: Principal, request: SearchRequest, *, request_id: str = "") -> Served[SearchResult]:
    """Search results from the first of the tool's providers (then its fallback tools') that gives them."""
    call, options = request.call, request.options
    table = await tool_table(principal, call.tool)
    meter = await admit(principal, model=call.tool, call_type=CALL_TYPE, request_id=request_id, tags=request.tags,
                        end_user=request.end_user,
                        worst_case=lambda: max([query_cost(d, call) for d in reachable(table, call, options)],
                                               default=0))

    async def attempt(deployment: DeploymentRecord) -> SearchResult:
        provider = SEARCH_PROVIDERS[deployment.target.provider]  # unsupported tools never reach an attempt
        return await send_search(provider, call, target_for(deployment, options))

    try:
        served = await route(table, call.tool, options, attempt, meter, shape=CallShape(mode=CALL_TYPE))
    except BaseException:
        meter.finish_soon(None, Usage(), price=None)
        raise
    meter.finish_soon(served.deployment, Usage(), price=None, cost_nanos=query_cost(served.deployment, call))
    return served


async def search_tools_list(principal: Principal) -> dict[str, Any]:
    """LiteLLM's `GET /v1/search/tools`: each tool the caller may use, with its provider (and description)."""
    table = await search_table.get()
    key = principal.key
    rules = () if principal.is_master or key is None else (key.models, key.team_models)
    data = []
    for name, records in sorted(table.groups.items()):
        if all(model_allowed(name, allowed, table.access_groups) for allowed in rules):
            for record in records:
                entry = {"search_tool_name": name, "search_provider": record.target.provider}
                if record.model_info.get("description"):
                    entry["description"] = str(record.model_info["description"])
                data.append(entry)
    return {"object": "list", "data": data}
