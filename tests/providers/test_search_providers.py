"""Search providers without HTTP: what a call without its credentials or address raises, how dates are read, and
the price of a call."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.providers.base import Target, UpstreamError
from apps.providers.search.base import SearchCall
from apps.providers.search.dates import as_day
from apps.providers.search.registry import SEARCH_PROVIDERS
from apps.providers.search.send import with_search_env

CALL = SearchCall(tool="t", query="q")


@pytest.mark.parametrize(("provider", "code", "names"), [
    pytest.param("tavily", "invalid_api_key", "TAVILY_API_KEY", id="tavily_without_key_case"),
    pytest.param("serper", "invalid_api_key", "SERPER_API_KEY", id="serper_without_key_case"),
    pytest.param("searxng", "missing_api_base", "SEARXNG_API_BASE", id="searxng_without_address_case"),
    pytest.param("google_pse", "missing_search_engine_id", "GOOGLE_PSE_ENGINE_ID", id="google_without_engine_case"),
])
def test_a_call_without_what_the_provider_needs_names_where_to_set_it(provider: str, code: str, names: str) -> None:
    target = with_search_env(SEARCH_PROVIDERS[provider], Target(provider=provider, model="search",
                                                                api_key="k" if provider == "google_pse" else None),
                             environ={})
    with pytest.raises(UpstreamError) as caught:
        SEARCH_PROVIDERS[provider].request(CALL, target)
    assert (caught.value.error_code, caught.value.retryable) == (code, False)
    assert names in caught.value.message


def test_keys_and_addresses_come_from_the_providers_variables() -> None:
    environ = {"BRAVE_API_KEY": "bsa-env", "BRAVE_API_BASE": "http://brave.local/search",
               "GOOGLE_PSE_ENGINE_ID": "cx-env"}
    brave = with_search_env(SEARCH_PROVIDERS["brave"], Target(provider="brave", model="search"), environ=environ)
    assert (brave.api_key, brave.api_base) == ("bsa-env", "http://brave.local/search")
    google = with_search_env(SEARCH_PROVIDERS["google_pse"], Target(provider="google_pse", model="search",
                                                                    extra={"search_engine_id": "cx-own"}),
                             environ=environ)
    assert google.extra["search_engine_id"] == "cx-own"


@pytest.mark.parametrize(("value", "day"), [
    pytest.param("2024-05-01T10:00:00Z", "2024-05-01", id="iso_case"),
    pytest.param(1717200000, "2024-06-01", id="unix_seconds_case"),
    pytest.param("1717200000000", "2024-06-01", id="unix_milliseconds_case"),
    pytest.param("May 20, 2024", "2024-05-20", id="written_case"),
    pytest.param("2 days ago", None, id="relative_case"),
    pytest.param("", None, id="empty_case"),
])
def test_provider_dates_are_read_as_days(value: object, day: str | None) -> None:
    assert as_day(value) == day


@pytest.mark.parametrize(("provider", "call", "price"), [
    pytest.param("tavily", SearchCall(tool="t", query="q", params={"search_depth": "advanced"}), Decimal("0.016"),
                 id="tavily_advanced_case"),
    pytest.param("exa_ai", SearchCall(tool="t", query="q", params={"numResults": 50}), Decimal("0.025"),
                 id="exa_past_25_results_case"),
    pytest.param("exa_ai", SearchCall(tool="t", query="q", max_results=20), Decimal("0.005"), id="exa_case"),
    pytest.param("duckduckgo", CALL, Decimal(0), id="duckduckgo_free_case"),
])
def test_the_list_price_of_a_query(provider: str, call: SearchCall, price: Decimal) -> None:
    assert SEARCH_PROVIDERS[provider].price(call) == price


def test_an_error_body_is_read_whatever_its_shape() -> None:
    tavily = SEARCH_PROVIDERS["tavily"]
    error = tavily.map_error(429, {"retry-after": "3"}, b'{"detail": {"error": "Too many requests"}}')
    assert (error.message, error.status, error.retry_after, error.retryable) == (
        "tavily: Too many requests", 429, 3.0, True)
    assert tavily.map_error(502, {}, b"<html>bad gateway</html>").message == "tavily: <html>bad gateway</html>"
