"""Perplexity's `POST /search` (https://docs.perplexity.ai/api-reference/search-post): the shape LiteLLM's Search API
itself speaks, so the call goes as it came."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item


class PerplexitySearch(SearchProvider):
    """The unified parameters under their own names, a list of queries as a list; Bearer key."""

    name: ClassVar[str] = "perplexity"
    default_api_base: ClassVar[str] = "https://api.perplexity.ai"
    api_key_env: ClassVar[tuple[str, ...]] = ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY")
    api_base_env: ClassVar[tuple[str, ...]] = ("PERPLEXITY_API_BASE",)
    cost_per_query: ClassVar[Decimal] = Decimal("0.005")

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        payload: dict[str, Any] = {"query": call.query if isinstance(call.query, str) else list(call.query)}
        optional = {"max_results": call.max_results, "max_tokens_per_page": call.max_tokens_per_page,
                    "country": call.country,
                    "search_domain_filter": None if call.search_domain_filter is None
                    else list(call.search_domain_filter)}
        payload.update({name: value for name, value in optional.items() if value is not None})
        payload.update(self.extras(call, payload))
        return self.post_json(self.base_url(target, "/search"), payload,
                              {"Authorization": f"Bearer {self.key(target)}"})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        found = data.get("results") or []
        # A list of queries is answered with one list of results per query.
        flat = [r for group in found for r in group] if found and isinstance(found[0], list) else found
        return [result_item(title=r.get("title"), url=r.get("url"), snippet=r.get("snippet"), date=r.get("date"),
                            last_updated=r.get("last_updated")) for r in flat]

    def queries_sent(self, call: SearchCall) -> int:
        return 1 if isinstance(call.query, str) else len(call.query)
