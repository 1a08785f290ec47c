"""Tavily's `POST /search` (https://docs.tavily.com/documentation/api-reference/endpoint/search)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item


class TavilySearch(SearchProvider):
    """`max_results`, `search_domain_filter` as `include_domains`, `country` lower-cased; Bearer key."""

    name: ClassVar[str] = "tavily"
    default_api_base: ClassVar[str] = "https://api.tavily.com"
    api_key_env: ClassVar[tuple[str, ...]] = ("TAVILY_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("TAVILY_API_BASE",)
    cost_per_query: ClassVar[Decimal] = Decimal("0.008")  # tavily/search; search-advanced is twice that

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        payload: dict[str, Any] = {"query": call.joined_query}
        if call.max_results is not None:
            payload["max_results"] = call.max_results
        if call.search_domain_filter is not None:
            payload["include_domains"] = list(call.search_domain_filter)
        if call.country is not None:
            payload["country"] = call.country.lower()
        payload.update(self.extras(call, payload))
        return self.post_json(self.base_url(target, "/search"), payload,
                              {"Authorization": f"Bearer {self.key(target)}"})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        return [result_item(title=r.get("title"), url=r.get("url"), snippet=r.get("content"),
                            date=r.get("published_date")) for r in data.get("results") or ()]

    def price(self, call: SearchCall) -> Decimal:
        advanced = call.params.get("search_depth") == "advanced"
        return self.cost_per_query * 2 if advanced else self.cost_per_query
