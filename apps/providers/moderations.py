"""OpenAI's moderations (`/v1/moderations`): the request passed on to the deployment, the answer passed back."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers import transport
from apps.providers.adapters.openai import OpenAIAdapter
from apps.providers.base import ProviderAdapter, Target, UpstreamRequest, Usage

MODERATION_PROVIDERS = frozenset({"openai"})


@dataclass(frozen=True, slots=True)
class ModerationCall:
    """One moderations request: `input` is a string, strings, or multimodal parts."""

    model: str
    input: Any
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModerationResult:
    """OpenAI's `{"id", "model", "results"}`; moderations are free, so nothing is counted."""

    body: dict[str, Any]
    usage: Usage = field(default_factory=Usage)


class ModerationNotSupported(InvalidRequest):
    code = "unsupported_operation"


def moderation_request(adapter: OpenAIAdapter, call: ModerationCall, target: Target) -> UpstreamRequest:
    body = {**call.params, "model": target.model, "input": call.input}
    return UpstreamRequest(method="POST", url=f"{adapter.base_url(target)}/moderations", headers=adapter.headers(target),
                           body=jsonutil.dumps(body))


async def send_moderation(adapter: ProviderAdapter, call: ModerationCall, target: Target) -> ModerationResult:
    """The upstream's moderation results for `call.input`."""
    if adapter.prefix not in MODERATION_PROVIDERS or not isinstance(adapter, OpenAIAdapter):
        raise ModerationNotSupported(f"The model `{call.model}` is served by provider {adapter.prefix!r}, which has no "
                                     f"moderations API; use an openai deployment.", param="model")
    _, body = await transport.send(adapter, moderation_request(adapter, call, target), target)
    return ModerationResult(body=jsonutil.loads(body))
