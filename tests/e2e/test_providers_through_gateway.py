"""The same official-SDK calls through the gateway get equivalent OpenAI-shaped answers from every provider.

Each case starts that provider's wire-format mock (`tests/upstreams/<provider>.py`), deploys it as a
Deployment row the gateway subprocess reads, and checks both the answer and what the upstream received.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageFunctionToolCall

from apps.providers.base import Feature
from apps.providers.registry import adapter_for
from tests.upstreams import anthropic, azure, bedrock, cohere, gemini, jina_ai, ollama, openai_compatible, vertex_ai, voyage
from tests.upstreams import replicate, sagemaker, text_completion_openai
from tests.upstreams import openai as openai_mock
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.gateway import PROMPT, TOOL_NAME, WEATHER_TOOL, GatewayUpstream

FACTORIES: dict[str, Callable[[], AbstractContextManager[GatewayUpstream]]] = {
    "openai": openai_mock.gateway_upstream, "anthropic": anthropic.gateway_upstream,
    "bedrock": bedrock.gateway_upstream, "gemini": gemini.gateway_upstream, "vertex_ai": vertex_ai.gateway_upstream,
    "cohere": cohere.gateway_upstream, "azure": azure.gateway_upstream, "ollama": ollama.gateway_upstream,
    "groq": openai_compatible.gateway_upstream, "text-completion-openai": text_completion_openai.gateway_upstream,
    "sagemaker": sagemaker.gateway_upstream, "sagemaker_chat": sagemaker.gateway_chat_upstream, "voyage": voyage.gateway_upstream, "jina_ai": jina_ai.gateway_upstream,
}
MESSAGES: list[Any] = [{"role": "user", "content": PROMPT}]
TOOL_MESSAGES: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS: list[Any] = [WEATHER_TOOL]


def cases(feature: Feature) -> list[Any]:
    """One case per provider whose adapter supports `feature`."""
    return [pytest.param(prefix, id=f"{prefix}_case") for prefix in FACTORIES if adapter_for(prefix).supports(feature)]


def deploy(*, name: str, provider: str, model: str, api_base: str, api_key: str, **fields: Any) -> None:
    """A committed Deployment row (no retries), so the gateway process routes `name` to it."""
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment, RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                              api_key_encrypted=encrypt(api_key) if api_key else "", timeout=10, **fields)


@pytest.fixture
def deployed(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[GatewayUpstream]:
    """The provider's mock, running, deployed as `e2e-<provider>` (and `e2e-<provider>-embed`)."""
    with FACTORIES[request.param]() as upstream:
        for name, model in ((f"e2e-{upstream.provider}", upstream.provider_model),
                            (f"e2e-{upstream.provider}-embed", upstream.embedding_model or upstream.provider_model)):
            deploy(name=name, provider=upstream.provider, model=model, api_base=upstream.api_base,
                   api_key=upstream.api_key, api_version=upstream.api_version,
                   litellm_params=dict(upstream.litellm_params))
        yield upstream


def assert_received(upstream: GatewayUpstream, behaviour: str) -> None:
    """The upstream got exactly one call, on the behaviour's path, with the deployment's credential."""
    [seen] = upstream.server.requests
    assert seen.path == upstream.paths[behaviour]
    header, value = upstream.auth
    sent = seen.headers.get(header, "")
    assert sent.startswith(value) if upstream.auth_is_prefix else sent == value, (header, sent)


def assert_usage(usage: Any) -> None:
    assert usage is not None
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def collect_stream(sdk: openai.OpenAI, model: str, **params: Any) -> list[ChatCompletionChunk]:
    stream = sdk.chat.completions.create(model=model, stream=True, stream_options={"include_usage": True}, **params)
    return list(stream)


def assert_stream_envelope(chunks: list[ChatCompletionChunk], finish_reason: str) -> None:
    """Every chunk names a model; the last choice finishes as expected; a usage-only chunk ends the stream."""
    assert all(chunk.object == "chat.completion.chunk" and chunk.model for chunk in chunks)
    assert len({chunk.id for chunk in chunks if chunk.choices}) == 1
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert [reason for reason in finishes if reason] == [finish_reason]
    assert chunks[-1].choices == []
    assert_usage(chunks[-1].usage)
    assert [chunk.usage for chunk in chunks[:-1]] == [None] * (len(chunks) - 1)


@pytest.mark.parametrize("deployed", cases("chat"), indirect=True)
def test_chat_answer_is_openai_shaped(deployed: GatewayUpstream, sdk: openai.OpenAI) -> None:
    response = sdk.chat.completions.create(model=f"e2e-{deployed.provider}", messages=MESSAGES)
    assert (response.object, bool(response.id), bool(response.model)) == ("chat.completion", True, True)
    [choice] = response.choices
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == deployed.text
    assert choice.message.tool_calls is None
    assert_usage(response.usage)
    assert_received(deployed, "chat")


@pytest.mark.parametrize("deployed", cases("stream"), indirect=True)
def test_stream_carries_text_then_a_usage_chunk(deployed: GatewayUpstream, sdk: openai.OpenAI) -> None:
    chunks = collect_stream(sdk, f"e2e-{deployed.provider}", messages=MESSAGES)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == deployed.stream_text
    assert_stream_envelope(chunks, "stop")
    assert_received(deployed, "stream")


@pytest.mark.parametrize("deployed", cases("tools"), indirect=True)
def test_tool_call_has_a_name_and_json_arguments(deployed: GatewayUpstream, sdk: openai.OpenAI) -> None:
    response = sdk.chat.completions.create(model=f"e2e-{deployed.provider}", messages=TOOL_MESSAGES,
                                           tools=TOOLS)
    [choice] = response.choices
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert (call.type, call.function.name, bool(call.id)) == ("function", TOOL_NAME, True)
    assert json.loads(call.function.arguments) == deployed.tool_arguments
    assert_usage(response.usage)
    assert_received(deployed, "chat")


@pytest.mark.parametrize("deployed", cases("tools"), indirect=True)
def test_streamed_tool_call_arguments_reassemble(deployed: GatewayUpstream, sdk: openai.OpenAI) -> None:
    chunks = collect_stream(sdk, f"e2e-{deployed.provider}", messages=TOOL_MESSAGES, tools=TOOLS)
    pieces = [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []]
    assert {piece.index for piece in pieces} == {0}
    assert [piece.function.name for piece in pieces if piece.function and piece.function.name] == [TOOL_NAME]
    assert len([piece.id for piece in pieces if piece.id]) == 1
    arguments = "".join(piece.function.arguments or "" for piece in pieces if piece.function)
    assert json.loads(arguments) == deployed.tool_arguments
    assert_stream_envelope(chunks, "tool_calls")
    assert_received(deployed, "stream")


@pytest.mark.parametrize("deployed", cases("embeddings"), indirect=True)
def test_embeddings_are_an_openai_list(deployed: GatewayUpstream, sdk: openai.OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise and decodes what it gets. One input: Titan takes no batches.
    response = sdk.embeddings.create(model=f"e2e-{deployed.provider}-embed", input=PROMPT)
    assert response.object == "list"
    [item] = response.data
    assert item.index == 0 and item.embedding and all(isinstance(value, float) for value in item.embedding)
    assert response.usage.total_tokens >= response.usage.prompt_tokens >= 0
    assert [seen.path for seen in deployed.server.requests][0] == deployed.paths["embeddings"]


def test_anthropic_overloaded_reaches_the_client_as_503(transactional_db: None, sdk: openai.OpenAI) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with anthropic.error_twin(529, overloaded, headers={"retry-after": "3"}) as twin:
        deploy(name="e2e-overloaded", provider="anthropic", model=anthropic.GATEWAY_MODEL, api_base=twin.url,
               api_key=anthropic.API_KEY)
        with pytest.raises(openai.InternalServerError) as caught:
            sdk.chat.completions.create(model="e2e-overloaded", messages=MESSAGES)
    assert twin.failures == []
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body == {"message": "Overloaded", "type": "api_error", "param": None, "code": "overloaded"}


def test_replicate_prediction_is_polled_and_streamed_through_the_gateway(transactional_db: None,
                                                                          sdk: openai.OpenAI) -> None:
    # Replicate takes several requests per call (create, poll / create, stream), so it has its own case.
    with replicate.gateway_upstream() as upstream:
        deploy(name="e2e-replicate", provider="replicate", model=upstream.provider_model, api_base=upstream.api_base,
               api_key=upstream.api_key, litellm_params=dict(upstream.litellm_params))
        response = sdk.chat.completions.create(model="e2e-replicate", messages=MESSAGES)
        chunks = collect_stream(sdk, "e2e-replicate", messages=MESSAGES)
        seen = [(request.method, request.path) for request in upstream.server.requests]
    assert response.choices[0].message.content == upstream.text
    assert_usage(response.usage)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == upstream.stream_text
    assert_stream_envelope(chunks, "stop")
    assert seen == [("POST", upstream.paths["chat"]), ("GET", "/v1/predictions/pred0001"),
                    ("POST", upstream.paths["stream"]), ("GET", "/v1/streams/pred0002")]


def test_a_replicate_stream_canceled_mid_way_ends_with_an_error_event(transactional_db: None,
                                                                      http: httpx.Client) -> None:
    with replicate.ReplicateUpstream(stream_end=b'event: done\ndata: {"reason": "canceled"}\n\n') as twin:
        deploy(name="e2e-replicate", provider="replicate", model=replicate.MODEL, api_base=twin.url,
               api_key=replicate.API_TOKEN, litellm_params={"replicate_poll_interval": 0.01})
        response = http.post("/v1/chat/completions", json={"model": "e2e-replicate", "messages": MESSAGES,
                                                           "stream": True})
    assert twin.failures == []
    events = [line for line in response.text.split("\n\n") if line]
    assert '"content":"Hello"' in events[0]
    assert '"replicate prediction canceled"' in events[-1] and '"prediction_canceled"' in events[-1]
    assert "[DONE]" not in response.text
    [row] = wait_for_spend_rows(1, request_id=response.headers["x-request-id"])
    assert (row.provider, row.status, row.error_type) == ("replicate", "failure", "prediction_canceled")
