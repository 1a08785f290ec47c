"""Exa's `POST /search` (https://docs.exa.ai/reference/search)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item

DEFAULT_RESULTS = 10  # Exa's default numResults, which its price tiers go by


class ExaAISearch(SearchProvider):
    """`max_results` as `numResults`, `search_domain_filter` as `includeDomains`, `country` as `userLocation`;
    page text asked for (`contents.text`) unless the body says otherwise; key in `x-api-key`."""

    name: ClassVar[str] = "exa_ai"
    default_api_base: ClassVar[str] = "https://api.exa.ai"
    api_key_env: ClassVar[tuple[str, ...]] = ("EXA_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("EXA_API_BASE",)
    cost_per_query: ClassVar[Decimal] = Decimal("0.005")  # up to 25 results; 0.025 for 26-100

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        payload: dict[str, Any] = {"query": call.joined_query}
        if call.max_results is not None:
            payload["numResults"] = call.max_results
        if call.search_domain_filter is not None:
            payload["includeDomains"] = list(call.search_domain_filter)
        if call.country is not None:
            payload["userLocation"] = call.country
        payload.update(self.extras(call, payload))
        payload.setdefault("contents", {"text": True})  # Exa returns no page text unless asked
        return self.post_json(self.base_url(target, "/search"), payload, {"x-api-key": self.key(target)})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        return [result_item(title=r.get("title"), url=r.get("url"), snippet=r.get("text"),
                            date=r.get("publishedDate")) for r in data.get("results") or ()]

    def price(self, call: SearchCall) -> Decimal:
        asked = call.params.get("numResults", call.max_results)
        many = isinstance(asked, int) and asked > 25
        return Decimal("0.025") if many else self.cost_per_query
