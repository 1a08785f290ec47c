"""`Router(model_list=[...])`: the gateway's routing, retries and fallbacks for Python code, no server or database.

    router = Router(model_list=[{"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o"}}],
                    num_retries=2, fallbacks=[{"gpt": ["claude"]}])
    reply = router.completion(model="gpt", messages=[{"role": "user", "content": "Hi"}])
"""
from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import django
from django.conf import settings

from apps.providers import transport
from apps.providers.base import ChatCall, ChatCompletion, EmbeddingCall, EmbeddingResult, ProviderAdapter, Target
from apps.providers.registry import ADAPTERS, adapter_for
from apps.providers.sdk import OpenAIObject, call_url, client_chunks, openai_errors_at, runner, sdk_chunks
from apps.providers.transport import ChatStream
from apps.routing.calls import target_for
from apps.routing.config import DeploymentSpec, parse_config
from apps.routing.parsing import GATEWAY_FIELDS, CallOptions
from apps.routing.router import route
from apps.routing.snapshot import DeploymentRecord, RoutingTable, build_table
from apps.routing.stream_resume import open_primed


@dataclass(frozen=True, slots=True)
class SpecRow:
    """A config entry shaped like a Deployment row, so the gateway's own record builder reads it."""

    pk: str
    model_name: str
    provider: str
    provider_model: str
    api_base: str
    api_key_env: str
    api_version: str
    timeout: float | None
    weight: float
    rpm: int | None
    tpm: int | None
    input_cost_per_token: Decimal | None
    output_cost_per_token: Decimal | None
    litellm_params: dict[str, Any] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)
    api_key_encrypted: str = ""


def _decimal(value: float | None) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def row_for(spec: DeploymentSpec) -> SpecRow:
    return SpecRow(pk=spec.config_id, model_name=spec.model_name, provider=spec.provider,
                   provider_model=spec.provider_model, api_base=spec.api_base, api_key_env=spec.api_key_env,
                   api_version=spec.api_version, timeout=spec.timeout, weight=spec.weight, rpm=spec.rpm,
                   tpm=spec.tpm, input_cost_per_token=_decimal(spec.input_cost_per_token),
                   output_cost_per_token=_decimal(spec.output_cost_per_token),
                   litellm_params=spec.litellm_params, model_info=spec.model_info)


def table_for(model_list: list[dict[str, Any]], router_settings: dict[str, Any]) -> RoutingTable:
    """A routing table held in memory; literal `api_key`s go straight into the targets."""
    config = parse_config({"model_list": model_list, "router_settings": router_settings}, set(ADAPTERS))
    table = build_table([row_for(spec) for spec in config.deployments], {**config.router_settings})
    literal = {spec.config_id: spec.api_key_literal for spec in config.deployments if spec.api_key_literal}

    def keyed(record: DeploymentRecord) -> DeploymentRecord:
        key = literal.get(record.id)
        return replace(record, target=replace(record.target, api_key=key)) if key else record

    return replace(table, groups={name: tuple(keyed(r) for r in records) for name, records in table.groups.items()})


def options_from(params: dict[str, Any]) -> CallOptions:
    """Per-call routing options taken out of the keyword arguments (LiteLLM's names)."""
    fallbacks = params.pop("fallbacks", None)
    timeout = params.pop("timeout", None)
    retries = params.pop("num_retries", None)
    for name in GATEWAY_FIELDS:
        params.pop(name, None)
    return CallOptions(fallbacks=tuple(fallbacks) if fallbacks is not None else None, num_retries=retries,
                       timeout=float(timeout) if timeout is not None else None)


def ensure_django() -> None:
    """Cooldowns and counters use the gateway's state backend, chosen by settings (in-process by default)."""
    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")
        django.setup()


class Router:
    """Route calls over `model_list` with the gateway's strategies, retries, cooldowns and fallbacks."""

    def __init__(self, model_list: list[dict[str, Any]], **router_settings: Any) -> None:
        ensure_django()
        self.table = table_for(model_list, router_settings)

    async def acompletion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                          **params: Any) -> OpenAIObject | AsyncGenerator[OpenAIObject, None]:
        """A chat completion (or an async iterator of chunks) from the first deployment that answers."""
        options = options_from(params)
        call = ChatCall(model=model, messages=messages, stream=stream, params=params)  # type: ignore[arg-type]
        tried = Tried(model)
        with tried.openai_errors():
            if stream:
                opened = await route(self.table, model, options, lambda d: tried.open(call, d, options), call=call)
                chunks = client_chunks(opened.value, include_usage=call.include_usage)
                return sdk_chunks(chunks, *tried.pick(opened.deployment, options))
            served = await route(self.table, model, options, lambda d: tried.send(call, d, options), call=call)
        return OpenAIObject(served.value.body)

    async def aembedding(self, model: str, input: Any, **params: Any) -> OpenAIObject:  # noqa: A002
        """Embeddings from the first deployment that answers."""
        options = options_from(params)
        call = EmbeddingCall(model=model, input=input, params=params)
        tried = Tried(model)
        with tried.openai_errors():
            served = await route(self.table, model, options, lambda d: tried.embed(call, d, options), call=call)
        return OpenAIObject(served.value.body)

    def completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                   **params: Any) -> OpenAIObject | Iterator[OpenAIObject]:
        """Blocking `acompletion`."""
        result = runner.run(self.acompletion(model, messages, stream=stream, **params))
        if isinstance(result, OpenAIObject):
            return result
        return runner.iterate(result)

    def embedding(self, model: str, input: Any, **params: Any) -> OpenAIObject:  # noqa: A002
        """Blocking `aembedding`."""
        return runner.run(self.aembedding(model, input, **params))


class Tried:
    """One Router call's attempts: each upstream call, and where the last went, so its error is an openai-class
    one naming that URL as `completion()`'s does (`router://<model>` when no deployment was tried)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.last: tuple[ProviderAdapter, Target] | None = None

    def pick(self, deployment: DeploymentRecord, options: CallOptions) -> tuple[ProviderAdapter, Target]:
        target = target_for(deployment, options)
        self.last = (adapter_for(target.provider), target)
        return self.last

    def openai_errors(self) -> AbstractContextManager[None]:
        """The gateway's errors raised as `sdk_errors` ones (the mapping `completion()` uses)."""
        return openai_errors_at(self.url)

    def url(self) -> str:
        return call_url(*self.last) if self.last else f"router://{self.model}"

    async def send(self, call: ChatCall, deployment: DeploymentRecord, options: CallOptions) -> ChatCompletion:
        adapter, target = self.pick(deployment, options)
        return await transport.send_chat(adapter, call, target)

    async def open(self, call: ChatCall, deployment: DeploymentRecord, options: CallOptions) -> ChatStream:
        """A stream primed past its first token, so one that fails before it moves on like any failed call."""
        adapter, target = self.pick(deployment, options)
        return await open_primed(adapter, call, target)

    async def embed(self, call: EmbeddingCall, deployment: DeploymentRecord, options: CallOptions) -> EmbeddingResult:
        adapter, target = self.pick(deployment, options)
        return await transport.send_embedding(adapter, call, target)
