"""Google Programmable Search's `GET /customsearch/v1` (https://developers.google.com/custom-search/v1/reference/rest/v1/cse/list)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamError, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item

MAX_NUM = 10  # Google answers at most 10 results per request


class GooglePSESearch(SearchProvider):
    """The key and engine id (`search_engine_id`, else GOOGLE_PSE_ENGINE_ID) as `key` and `cx`; `max_results` as
    `num` (at most 10), the first of `search_domain_filter` as `siteSearch`, `country` as `gl`."""

    name: ClassVar[str] = "google_pse"
    default_api_base: ClassVar[str] = "https://www.googleapis.com/customsearch/v1"
    api_key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_PSE_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("GOOGLE_PSE_API_BASE",)
    engine_env: ClassVar[tuple[str, ...]] = ("GOOGLE_PSE_ENGINE_ID",)
    cost_per_query: ClassVar[Decimal] = Decimal("0.005")

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        engine = call.params.get("search_engine_id") or target.extra.get("search_engine_id")
        if not engine:
            raise UpstreamError("No search engine id is configured for search provider 'google_pse': set "
                                "search_engine_id in the search tool's litellm_params or GOOGLE_PSE_ENGINE_ID.",
                                status=400, error_type="invalid_request_error", code="missing_search_engine_id",
                                provider=self.name)
        params: dict[str, Any] = {"q": call.joined_query, "cx": engine, "key": self.key(target)}
        if call.max_results is not None:
            params["num"] = min(call.max_results, MAX_NUM)
        if call.search_domain_filter:
            params |= {"siteSearch": call.search_domain_filter[0], "siteSearchFilter": "i"}
        if call.country is not None:
            params["gl"] = call.country.upper()
        params.update(self.extras(call, {**params, "search_engine_id": engine}))
        return self.get(self.base_url(target), params, {})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        return [result_item(title=r.get("title"), url=r.get("link"), snippet=r.get("snippet"))
                for r in data.get("items") or ()]
