"""Search providers by the `search_provider` name a search tool gives (LiteLLM's names, plus serper and duckduckgo)."""
from __future__ import annotations

from apps.providers.search.base import SearchProvider
from apps.providers.search.brave import BraveSearch
from apps.providers.search.duckduckgo import DuckDuckGoSearch
from apps.providers.search.exa_ai import ExaAISearch
from apps.providers.search.google_pse import GooglePSESearch
from apps.providers.search.perplexity import PerplexitySearch
from apps.providers.search.searxng import SearXNGSearch
from apps.providers.search.serper import SerperSearch
from apps.providers.search.tavily import TavilySearch

SEARCH_PROVIDERS: dict[str, SearchProvider] = {provider.name: provider for provider in (
    TavilySearch(), ExaAISearch(), BraveSearch(), PerplexitySearch(), GooglePSESearch(), SearXNGSearch(),
    SerperSearch(), DuckDuckGoSearch())}


def search_provider_for(name: str) -> SearchProvider | None:
    """The provider named, or None when Tollgate has none by that name."""
    return SEARCH_PROVIDERS.get(name)
