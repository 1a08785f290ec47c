"""Brave's `GET /res/v1/web/search` (https://api-dashboard.search.brave.com/app/documentation/web-search)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item, site_filter
from apps.providers.search.dates import as_day

SECTIONS = ("web", "discussions", "faqs", "faq", "news", "videos")  # the answer's result blocks, in order
MAX_COUNT = 20  # Brave's largest `count`


class BraveSearch(SearchProvider):
    """`max_results` as `count` (at most 20), `country`, `search_domain_filter` as `site:` terms in `q`, fetch
    metadata asked for (it dates results: `last_updated`); key in `X-Subscription-Token`."""

    name: ClassVar[str] = "brave"
    default_api_base: ClassVar[str] = "https://api.search.brave.com/res/v1/web/search"
    api_key_env: ClassVar[tuple[str, ...]] = ("BRAVE_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("BRAVE_API_BASE",)
    cut_to_max: ClassVar[bool] = True
    cost_per_query: ClassVar[Decimal] = Decimal("0.005")  # Brave's $5 per 1,000 requests

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        params: dict[str, Any] = {"q": site_filter(call.joined_query, call.search_domain_filter or ())}
        if call.max_results is not None:
            params["count"] = min(call.max_results, MAX_COUNT)
        if call.country is not None:
            params["country"] = call.country
        params["include_fetch_metadata"] = call.params.get("include_fetch_metadata", True)
        params.update(self.extras(call, params))
        return self.get(self.base_url(target), params, {"X-Subscription-Token": self.key(target),
                                                        "Accept-Encoding": "identity"})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        wanted = [s.strip().lower() for s in str(call.params.get("result_filter") or "").split(",")]
        sections = [s for s in SECTIONS if s in wanted] or list(SECTIONS)
        found = [r for section in sections for r in (data.get(section) or {}).get("results") or ()]
        return [result_item(title=r.get("title"), url=r.get("url"), snippet=r.get("description"),
                            date=as_day(r.get("page_age") or r.get("age")),
                            last_updated=as_day(r.get("fetched_content_timestamp"))) for r in found]
