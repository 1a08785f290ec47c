"""The providers that have OpenAI's Responses API themselves (OpenAI, Azure OpenAI): where their `/responses`
endpoints are and how they are called. Other providers (OpenAI-compatible servers included: few of them have
it) are served the Responses API over chat (`apps.providers.responses`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from apps.core import jsonutil
from apps.providers.adapters.azure import AzureAdapter, resource_base
from apps.providers.adapters.openai import OpenAIAdapter
from apps.providers.adapters.openai_compatible import ApiBaseRequired
from apps.providers.base import ProviderAdapter, Target, UpstreamRequest

AZURE_RESPONSES_VERSION = "preview"  # LiteLLM's default for Azure's Responses API
V1_VERSIONS = frozenset({"v1", "preview"})


@dataclass(frozen=True, slots=True)
class ResponsesEndpoint:
    """An adapter's Responses API: requests to `/responses` and to one stored response."""

    adapter: OpenAIAdapter

    def url(self, target: Target, path: str, query: Mapping[str, str] | None = None) -> str:
        """`{api_base}/responses{path}` (OpenAI: the api_base ends in /v1)."""
        url = f"{self.adapter.base_url(target)}/responses{path}"
        return f"{url}?{urlencode(query)}" if query else url

    def create(self, body: Mapping[str, Any], target: Target) -> UpstreamRequest:
        """`POST /responses` with the client's body for the deployment's model."""
        sent = {**body, "model": target.model}
        return UpstreamRequest(method="POST", url=self.url(target, ""), headers=self.adapter.headers(target),
                               body=jsonutil.dumps(sent), stream=bool(sent.get("stream")))

    def about(self, target: Target, upstream_id: str, *, method: str = "GET", suffix: str = "",
              query: Mapping[str, str] | None = None) -> UpstreamRequest:
        """A request about one stored response: GET, DELETE, `/input_items`, `/cancel`."""
        url = self.url(target, f"/{quote(upstream_id, safe='')}{suffix}", query)
        body = b"{}" if method == "POST" else b""
        return UpstreamRequest(method=method, url=url, headers=self.adapter.headers(target), body=body)


@dataclass(frozen=True, slots=True)
class AzureResponsesEndpoint(ResponsesEndpoint):
    """Azure's: `{resource}/openai/responses?api-version=...`, or `/openai/v1/responses` for the v1 versions."""

    def url(self, target: Target, path: str, query: Mapping[str, str] | None = None) -> str:
        if not target.api_base:
            raise ApiBaseRequired("azure deployments need api_base: the resource endpoint, "
                                  "for example https://my-resource.openai.azure.com")
        base = resource_base(target.api_base)
        version = str(target.api_version or target.extra.get("api_version") or AZURE_RESPONSES_VERSION)
        params = dict(query or {})
        if version == "v1":
            url = f"{base}/openai/v1/responses{path}"
        else:
            params["api-version"] = version
            url = f"{base}/openai/{'v1/' if version in V1_VERSIONS else ''}responses{path}"
        return f"{url}?{urlencode(params)}" if params else url


def responses_endpoint(adapter: ProviderAdapter) -> ResponsesEndpoint | None:
    """The adapter's own Responses API, or None when calls to it go over chat."""
    if type(adapter) is OpenAIAdapter:
        return ResponsesEndpoint(adapter)
    if type(adapter) is AzureAdapter:
        return AzureResponsesEndpoint(adapter)
    return None
