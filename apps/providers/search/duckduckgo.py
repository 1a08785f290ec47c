"""DuckDuckGo's Instant Answer API, `GET https://api.duckduckgo.com/?format=json` (https://duckduckgo.com/api):
keyless and free; its abstract, results and related topics are the search results."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from apps.providers.base import Target, UpstreamRequest
from apps.providers.search.base import SearchCall, SearchProvider, SearchResultItem, result_item, site_filter


def topics(items: Any) -> Iterator[Mapping[str, Any]]:
    """Related topics, with the ones grouped under a category (`{"Name", "Topics"}`) taken out of their group."""
    for item in items or ():
        if isinstance(item, Mapping) and isinstance(item.get("Topics"), list):
            yield from topics(item["Topics"])
        elif isinstance(item, Mapping) and item.get("FirstURL"):
            yield item


def topic_result(item: Mapping[str, Any]) -> SearchResultItem:
    """A topic's `Text` is `Title - description`: the part before the dash is its title."""
    text = str(item.get("Text") or "")
    title = text.split(" - ", 1)[0] if " - " in text else text
    return result_item(title=title, url=item.get("FirstURL"), snippet=text)


class DuckDuckGoSearch(SearchProvider):
    """`q` (with `site:` terms for `search_domain_filter`), `no_html` and `skip_disambig`; no key and no result
    count (the gateway cuts the answer to `max_results`)."""

    name: ClassVar[str] = "duckduckgo"
    default_api_base: ClassVar[str] = "https://api.duckduckgo.com"
    api_base_env: ClassVar[tuple[str, ...]] = ("DUCKDUCKGO_API_BASE",)
    cut_to_max: ClassVar[bool] = True
    needs_key: ClassVar[bool] = False

    def request(self, call: SearchCall, target: Target) -> UpstreamRequest:
        params: dict[str, Any] = {"q": site_filter(call.joined_query, call.search_domain_filter or ()),
                                  "format": "json", "no_html": 1, "skip_disambig": 1}
        params.update(self.extras(call, params))
        return self.get(self.base_url(target) + "/", params, {})

    def results(self, data: Any, call: SearchCall) -> list[SearchResultItem]:
        found: list[SearchResultItem] = []
        if data.get("AbstractURL") and data.get("AbstractText"):
            found.append(result_item(title=data.get("Heading"), url=data["AbstractURL"], snippet=data["AbstractText"]))
        found += [topic_result(item) for item in topics(data.get("Results"))]
        found += [topic_result(item) for item in topics(data.get("RelatedTopics"))]
        return found
