"""One search call over the transport: the provider's request sent, its answer read into LiteLLM's shape."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from apps.core import jsonutil
from apps.providers import transport
from apps.providers.base import ProviderAdapter, Target, UpstreamError
from apps.providers.search.base import SearchCall, SearchProvider, SearchResult


def with_search_env(provider: SearchProvider, target: Target, environ: Mapping[str, str] | None = None) -> Target:
    """`target` with a missing api_base, api_key (and Google's engine id) from the provider's variables."""
    environ = os.environ if environ is None else environ

    def first(names: tuple[str, ...]) -> str | None:
        return next((environ[name] for name in names if environ.get(name)), None)

    extra = dict(target.extra)
    engine_env: tuple[str, ...] = getattr(provider, "engine_env", ())
    if engine_env and not extra.get("search_engine_id") and (engine := first(engine_env)):
        extra["search_engine_id"] = engine
    return replace(target, api_base=target.api_base or first(provider.api_base_env),
                   api_key=target.api_key or first(provider.api_key_env), extra=extra)


def parsed(provider: SearchProvider, body: bytes) -> Any:
    """The answer as a JSON object, or a 502 saying the provider sent something else."""
    try:
        data = jsonutil.loads(body)
    except jsonutil.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamError(f"search provider {provider.name!r} answered with something other than a JSON object",
                            status=502, error_type="api_error", code="bad_upstream_response", provider=provider.name)
    return data


async def send_search(provider: SearchProvider, call: SearchCall, target: Target) -> SearchResult:
    """The provider's results for the call, cut to `max_results` for engines that have no count of their own."""
    # The transport needs only `map_error` (and an optional `sign`) of what it is given, which providers have.
    _, body = await transport.send(cast(ProviderAdapter, provider), provider.request(call, target), target)
    results = provider.results(parsed(provider, body), call)
    if provider.cut_to_max and call.max_results is not None:
        results = results[:call.max_results]
    return SearchResult(body={"object": "search", "results": results}, queries=provider.queries_sent(call))
