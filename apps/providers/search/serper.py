"""Serper's Google results, `POST https://google.serper.dev/search` (https://serper.dev)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item, site_filter
from apps.providers.search.dates import as_day


class SerperSearch(SearchProvider):
    """`q`, `max_results` as `num`, `country` as `gl` (lower case), `search_domain_filter` as `site:` terms; key in
    `X-API-KEY`; the `organic` results answered."""

    name: ClassVar[str] = "serper"
    default_api_base: ClassVar[str] = "https://google.serper.dev"
    api_key_env: ClassVar[tuple[str, ...]] = ("SERPER_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("SERPER_API_BASE",)
    cost_per_query: ClassVar[Decimal] = Decimal("0.001")  # Serper's $1 per 1,000 queries (first tier)

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        payload: dict[str, Any] = {"q": site_filter(call.joined_query, call.search_domain_filter or ())}
        if call.max_results is not None:
            payload["num"] = call.max_results
        if call.country is not None:
            payload["gl"] = call.country.lower()
        payload.update(self.extras(call, payload))
        return self.post_json(self.base_url(target, "/search"), payload, {"X-API-KEY": self.key(target)})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        return [result_item(title=r.get("title"), url=r.get("link"), snippet=r.get("snippet"),
                            date=as_day(r.get("date")) or r.get("date")) for r in data.get("organic") or ()]
