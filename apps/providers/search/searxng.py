"""A self-hosted SearXNG's `GET /search?format=json` (https://docs.searxng.org/dev/search_api.html)."""
from __future__ import annotations

from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamError, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item

LANGUAGES = {"us": "en", "uk": "en", "gb": "en", "de": "de", "fr": "fr", "es": "es", "jp": "ja"}


class SearXNGSearch(SearchProvider):
    """No default address (`api_base` or SEARXNG_API_BASE), an optional Bearer key; `country` as `language`.
    SearXNG has no result count: the gateway cuts the answer to `max_results`. Free (0 per query)."""

    name: ClassVar[str] = "searxng"
    api_key_env: ClassVar[tuple[str, ...]] = ("SEARXNG_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("SEARXNG_API_BASE",)
    cut_to_max: ClassVar[bool] = True
    needs_key: ClassVar[bool] = False

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        if not target.api_base:
            raise UpstreamError("Search provider 'searxng' needs the address of its instance: set api_base in the "
                                "search tool's litellm_params or SEARXNG_API_BASE.", status=400,
                                error_type="invalid_request_error", code="missing_api_base", provider=self.name)
        params: dict[str, Any] = {"q": call.joined_query, "format": "json"}
        if call.country is not None:
            country = call.country.lower()
            params["language"] = LANGUAGES.get(country, country)
        params.update(self.extras(call, params))
        headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
        return self.get(self.base_url(target, "/search"), params, headers)

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        return [result_item(title=r.get("title"), url=r.get("url"), snippet=r.get("content"),
                            date=r.get("publishedDate") or r.get("pubdate")) for r in data.get("results") or ()]
