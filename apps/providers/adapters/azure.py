"""Azure OpenAI: OpenAI's wire format on per-deployment URLs, with `api-key` auth and content filtering.

Two URL schemes: the dated one, `{api_base}/openai/deployments/{deployment}/chat/completions?api-version=...`
(the deployment is `target.model`), and the v1 one, `{api_base}/openai/v1/chat/completions`, chosen
when `api_version` is `v1` (GA, no query) or `preview`. Azure's `prompt_filter_results` and
`content_filter_results` are kept in answers and chunks as the upstream sent them.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from apps.core import jsonutil
from apps.providers.adapters.openai import MEDIA_FEATURES
from apps.providers.adapters.openai_compatible import ApiBaseRequired, OpenAICompatibleAdapter
from apps.providers.base import (
    BasicStreamState,
    ChatCall,
    ChatChunk,
    EmbeddingCall,
    Target,
    UpstreamError,
    UpstreamRequest,
)

DEFAULT_API_VERSION = "2024-10-21"
V1_VERSIONS = frozenset({"v1", "preview"})
# The first dated API version that accepts `stream_options` (older ones reject it with a 400).
STREAM_OPTIONS_SINCE = "2024-09-01"


class AzureContentFilterError(UpstreamError):
    """A request Azure's content filter blocked; `innererror` (the per-category verdicts) reaches the client."""

    def __init__(self, message: str, *, innererror: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.innererror = dict(innererror)

    def payload(self) -> dict[str, Any]:  # type: ignore[override]
        body: dict[str, Any] = super().payload()
        body["error"] = {**body["error"], "innererror": self.innererror}
        return body


def resource_base(api_base: str) -> str:
    """The resource endpoint, accepting bases given with a trailing `/openai` or `/openai/v1`."""
    base = api_base.rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


class AzureAdapter(OpenAICompatibleAdapter):
    """`azure/<deployment>` against an Azure OpenAI (or Foundry) resource."""

    prefix: ClassVar[str] = "azure"
    api_key_env: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")  # LiteLLM's order
    api_base_env: ClassVar[tuple[str, ...]] = ("AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT")
    api_version_env: ClassVar[tuple[str, ...]] = ("AZURE_API_VERSION",)
    default_api_base: ClassVar[str] = ""
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream", *MEDIA_FEATURES})

    def api_version(self, target: Target) -> str:
        return str(target.api_version or target.extra.get("api_version") or DEFAULT_API_VERSION)

    def endpoint(self, target: Target, operation: str) -> str:
        """The full URL for `chat/completions` or `embeddings` on this deployment."""
        if not target.api_base:
            raise ApiBaseRequired("azure deployments need api_base: the resource endpoint, "
                                  "for example https://my-resource.openai.azure.com")
        base, version = resource_base(target.api_base), self.api_version(target)
        if version in V1_VERSIONS:
            url = f"{base}/openai/v1/{operation}"
            return url if version == "v1" else f"{url}?api-version={version}"
        deployment = quote(target.model, safe="")
        return f"{base}/openai/deployments/{deployment}/{operation}?api-version={quote(version, safe='')}"

    def media_url(self, target: Target, operation: str) -> str:
        """Images and audio on the deployment's paths (`.../deployments/{name}/images/generations?api-version=`)."""
        return self.endpoint(target, operation)

    def auth_headers(self, target: Target) -> dict[str, str]:
        token = target.extra.get("azure_ad_token")
        if token:
            return {"Authorization": f"Bearer {token}"}  # Microsoft Entra ID
        return {"api-key": target.api_key} if target.api_key else {}

    def sends_usage_options(self, target: Target) -> bool:
        version = self.api_version(target)
        return version in V1_VERSIONS or version[:10] >= STREAM_OPTIONS_SINCE

    def chat_body(self, call: ChatCall, target: Target) -> dict[str, Any]:
        body = super().chat_body(call, target)
        if not self.sends_usage_options(target):
            body.pop("stream_options", None)
        return body

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        return UpstreamRequest(method="POST", url=self.endpoint(target, "chat/completions"),
                               headers=self.headers(target), body=jsonutil.dumps(self.chat_body(call, target)),
                               stream=call.stream)

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        body = {"model": target.model, "input": call.input, **call.params}
        return UpstreamRequest(method="POST", url=self.endpoint(target, "embeddings"),
                               headers=self.headers(target), body=jsonutil.dumps(body))

    def split_usage(self, data: dict[str, Any], state: BasicStreamState) -> list[ChatChunk]:
        # Azure opens some streams with a `choices: []` chunk that only carries `prompt_filter_results`
        # (and blank id/object/model): passed on, typed as a chunk so strict clients accept it.
        if not data.get("object") and "prompt_filter_results" in data:
            data = {**data, "object": "chat.completion.chunk"}
        return super().split_usage(data, state)

    def error_from_body(self, status: int, headers: Mapping[str, str], data: Mapping[str, Any]) -> UpstreamError:
        error = super().error_from_body(status, headers, data)
        raw = data.get("error")
        inner = raw.get("innererror") if isinstance(raw, dict) else None
        if error.is_content_policy and isinstance(inner, dict):
            return AzureContentFilterError(error.message, innererror=inner, status=error.upstream_status,
                                           error_type=error.error_type, code=error.error_code, param=error.param,
                                           retry_after=error.retry_after, provider=self.prefix)
        return error
