"""The Realtime API's upstream URLs: OpenAI's `/v1/realtime?model=...` and Azure OpenAI's realtime paths.

OpenAI: `wss://api.openai.com/v1/realtime?model=<model>` with `Authorization: Bearer` (plus the client's
`OpenAI-Beta: realtime=v1` for the beta protocol). Azure: the dated scheme
`wss://<resource>/openai/realtime?api-version=<v>&deployment=<deployment>` with `api-key` (or Entra ID
`Authorization: Bearer`), and with `api_version` `v1` / `preview` the GA one, `/openai/v1/realtime?model=`.
The client's other query parameters pass on; the gateway's own (`model`, `api_key`, `deployment`) do not.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlencode

from apps.providers.adapters.azure import V1_VERSIONS, AzureAdapter, resource_base
from apps.providers.adapters.openai import OpenAIAdapter
from apps.providers.adapters.openai_compatible import ApiBaseRequired
from apps.providers.base import Target, UpstreamError
from apps.providers.realtime import FORWARDED_HEADERS, RealtimeUpstream

GATEWAY_QUERY = frozenset({"model", "api_key", "deployment", "api-version"})
AZURE_REALTIME_VERSION = "2024-10-01-preview"  # the first dated version with the Realtime API


def websocket_url(base: str) -> str:
    """An http(s) base as ws(s)."""
    for plain, secure in (("http://", "ws://"), ("https://", "wss://")):
        if base.startswith(plain):
            return secure + base[len(plain):]
    return base


def client_query(query: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in query.items() if name not in GATEWAY_QUERY}


def client_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() in FORWARDED_HEADERS}


class OpenAIRealtime:
    """`openai/<model>` sessions."""

    prefix: ClassVar[str] = "openai"
    rest: ClassVar[OpenAIAdapter] = OpenAIAdapter()

    def realtime_upstream(self, target: Target, *, query: Mapping[str, str],
                          headers: Mapping[str, str]) -> RealtimeUpstream:
        url = f"{websocket_url(self.rest.base_url(target))}/realtime?" + urlencode(
            {"model": target.model, **client_query(query)})
        sent = {**client_headers(headers), **self.rest.auth_headers(target)}
        organization = target.extra.get("organization")
        if organization:
            sent["OpenAI-Organization"] = str(organization)
        return RealtimeUpstream(url=url, headers={**sent, **target.headers})

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return self.rest.map_error(status, headers, body)


class AzureRealtime:
    """`azure/<deployment>` sessions on an Azure OpenAI resource."""

    prefix: ClassVar[str] = "azure"
    rest: ClassVar[AzureAdapter] = AzureAdapter()

    def realtime_upstream(self, target: Target, *, query: Mapping[str, str],
                          headers: Mapping[str, str]) -> RealtimeUpstream:
        if not target.api_base:
            raise ApiBaseRequired("azure deployments need api_base: the resource endpoint, "
                                  "for example https://my-resource.openai.azure.com")
        base = websocket_url(resource_base(target.api_base))
        version = str(target.api_version or target.extra.get("api_version") or AZURE_REALTIME_VERSION)
        if version in V1_VERSIONS:
            url = f"{base}/openai/v1/realtime?" + urlencode({"model": target.model, **client_query(query)})
        else:
            url = f"{base}/openai/realtime?" + urlencode(
                {"api-version": version, "deployment": target.model, **client_query(query)})
        sent = {**client_headers(headers), **self.rest.auth_headers(target)}
        return RealtimeUpstream(url=url, headers={**sent, **target.headers})

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return self.rest.map_error(status, headers, body)


REALTIME_ADAPTERS: dict[str, OpenAIRealtime | AzureRealtime] = {
    adapter.prefix: adapter for adapter in (OpenAIRealtime(), AzureRealtime())}
