"""The search call and answer (LiteLLM's unified Search API, Perplexity's shape) and what every provider shares."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, TypedDict
from urllib.parse import urlencode

from apps.core import jsonutil
from apps.providers.adapters.openai import ERROR_TYPES, retry_after_seconds
from apps.providers.base import Target, UpstreamError, UpstreamRequest

# The unified parameters every provider translates; anything else in the body is the provider's own, passed on.
UNIFIED_PARAMS = frozenset({"max_results", "search_domain_filter", "max_tokens_per_page", "country"})


class SearchResultItem(TypedDict):
    title: str
    url: str
    snippet: str
    date: str | None
    last_updated: str | None


class SearchBody(TypedDict):
    object: str
    results: list[SearchResultItem]


@dataclass(frozen=True, slots=True)
class SearchCall:
    """One `/v1/search` request: `tool` is the search_tool_name (the model group of search)."""

    tool: str
    query: str | tuple[str, ...]
    max_results: int | None = None
    search_domain_filter: tuple[str, ...] | None = None
    max_tokens_per_page: int | None = None
    country: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # provider extras, sent as given

    @property
    def joined_query(self) -> str:
        """The query as one string (providers that take a single query get a list joined by spaces, as LiteLLM)."""
        return self.query if isinstance(self.query, str) else " ".join(self.query)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The answer in LiteLLM's shape and how many queries the provider ran (what it bills)."""

    body: SearchBody
    queries: int = 1


def result_item(*, title: Any, url: Any, snippet: Any, date: Any = None, last_updated: Any = None) -> SearchResultItem:
    """One result with LiteLLM's fields: strings, "" for a missing title, url or snippet, None for missing dates."""
    return {"title": str(title or ""), "url": str(url or ""), "snippet": str(snippet or ""),
            "date": str(date) if date else None, "last_updated": str(last_updated) if last_updated else None}


def query_value(value: Any) -> str:
    """A parameter as a query-string value: booleans as `true`/`false` (as the providers' APIs spell them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else jsonutil.dumps(value).decode() if isinstance(value, (dict, list)) \
        else str(value)


def site_filter(query: str, domains: Sequence[str]) -> str:
    """The query restricted to `domains` with `site:` operators (for engines that have no domain parameter)."""
    if not domains:
        return query
    sites = " OR ".join(f"site:{domain}" for domain in domains)
    return f"({query}) AND ({sites})" if len(domains) > 1 else f"{query} site:{domains[0]}"


def error_message(data: Any, status: int) -> str:
    """The message of a provider's error body, whichever of the usual shapes it has."""
    if isinstance(data, Mapping):
        for name in ("error", "detail", "message", "errors"):
            value = data.get(name)
            if isinstance(value, Mapping):
                value = value.get("message") or value.get("detail") or value.get("error") or value.get("msg")
            if isinstance(value, list) and value:
                value = value[0].get("message") if isinstance(value[0], Mapping) else value[0]
            if isinstance(value, str) and value:
                return value
    return f"upstream returned {status}"


class SearchProvider(ABC):
    """What every search provider has: its name, where it lives, its key variables and error mapping.

    Subclasses say how a call is sent (`request`) and how results are read (`results`). Pure: no IO."""

    name: ClassVar[str]
    default_api_base: ClassVar[str] = ""
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ()
    needs_key: ClassVar[bool] = True
    # The provider has no result count (or mixes result blocks): the gateway cuts its answer to max_results.
    cut_to_max: ClassVar[bool] = False
    # LiteLLM's price per query (model_prices_and_context_window.json `<provider>/search`), else the provider's
    # list price; a tool's `litellm_params.input_cost_per_query` overrides it.
    cost_per_query: ClassVar[Decimal] = Decimal(0)

    @abstractmethod
    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        """The provider's HTTP request for the call."""

    @abstractmethod
    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        """The results of the provider's (parsed JSON) answer, in LiteLLM's shape."""

    def queries_sent(self, call: SearchCall) -> int:
        """Queries the provider runs for the call: one, as most join a list of queries into one."""
        return 1

    def price(self, call: SearchCall) -> Decimal:
        """The list price of one query of this call."""
        return self.cost_per_query

    def base_url(self, target: Target, path: str = "") -> str:
        """The api_base (the tool's, else the default) with `path` appended unless it already ends with it."""
        base = (target.api_base or self.default_api_base).rstrip("/")
        return base if not path or base.endswith(path) else base + path

    def key(self, target: Target) -> str:
        """The tool's API key, or a 401 naming the variables that could hold it."""
        if target.api_key:
            return target.api_key
        names = " or ".join(self.api_key_env) or "litellm_params.api_key"
        raise UpstreamError(f"No API key is configured for search provider {self.name!r}: set api_key in the "
                            f"search tool's litellm_params or {names}.", status=401,
                            error_type="authentication_error", code="invalid_api_key", provider=self.name)

    def extras(self, call: SearchCall, taken: Mapping[str, Any]) -> dict[str, Any]:
        """The provider's own parameters from the body that the translation has not set."""
        return {k: v for k, v in call.params.items() if k not in UNIFIED_PARAMS and k not in taken}

    def post_json(self, url: str, payload: Mapping[str, Any], headers: Mapping[str, str]) -> UpstreamRequest:
        return UpstreamRequest("POST", url, {"Content-Type": "application/json", "Accept": "application/json",
                                             **headers}, jsonutil.dumps(dict(payload)))

    def get(self, url: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> UpstreamRequest:
        query = urlencode([(k, query_value(v)) for k, v in params.items() if v is not None])
        return UpstreamRequest("GET", f"{url}?{query}", {"Accept": "application/json", **headers}, b"")

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"message": body.decode("utf-8", "replace")[:500]}
        code = {401: "invalid_api_key", 403: "permission_denied", 429: "rate_limit_exceeded"}.get(status)
        return UpstreamError(f"{self.name}: {error_message(data, status)}", status=status,
                             error_type=ERROR_TYPES.get(status, "api_error"), code=code,
                             retry_after=retry_after_seconds(headers), provider=self.name)
