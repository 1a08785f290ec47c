"""/v1/messages with Anthropic's own client to providers that are not OpenAI-shaped (Gemini, Bedrock: their own
wire formats, checked by their twins), and reasoning on the translated path answered as thinking blocks."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.e2e.test_providers_through_gateway import FACTORIES, assert_received, deploy
from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

WEATHER: Any = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
HELLO: list[Any] = [{"role": "user", "content": PROMPT}]
PROVIDERS = [pytest.param("gemini", id="gemini_case"), pytest.param("bedrock", id="bedrock_case")]
THOUGHTS = {"gemini": [("thinking", "thinking...")], "bedrock": []}  # Gemini's twin answers a thought part first


@pytest.fixture
def claude(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=MASTER_KEY, base_url=gateway.url, max_retries=0, timeout=30)


@pytest.fixture
def provider(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[GatewayUpstream]:
    """The provider's twin, deployed as `messages-<provider>`."""
    with FACTORIES[request.param]() as upstream:
        deploy(name=f"messages-{upstream.provider}", provider=upstream.provider, model=upstream.provider_model,
               api_base=upstream.api_base, api_key=upstream.api_key, litellm_params=dict(upstream.litellm_params))
        yield upstream
        assert upstream.server.failures == []


@pytest.mark.parametrize("provider", PROVIDERS, indirect=True)
def test_text_reaches_the_provider_in_its_format_and_comes_back_as_a_message(
        claude: anthropic.Anthropic, provider: GatewayUpstream) -> None:
    message = claude.messages.create(model=f"messages-{provider.provider}", max_tokens=50, messages=HELLO)
    assert [(block.type, getattr(block, "text", None) or getattr(block, "thinking", None))
            for block in message.content] == [*THOUGHTS[provider.provider], ("text", provider.text)]
    assert (message.role, message.stop_reason) == ("assistant", "end_turn")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert_received(provider, "chat")


@pytest.mark.parametrize("provider", PROVIDERS, indirect=True)
def test_a_stream_is_anthropics_events_over_the_providers_stream(claude: anthropic.Anthropic,
                                                                  provider: GatewayUpstream) -> None:
    with claude.messages.stream(model=f"messages-{provider.provider}", max_tokens=50, messages=HELLO) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert (kinds[0], kinds[-1], kinds.count("message_start"), "error" in kinds) == (
        "message_start", "message_stop", 1, False)
    assert "".join(block.text for block in final.content if block.type == "text") == provider.stream_text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    assert_received(provider, "stream")


@pytest.mark.parametrize("provider", PROVIDERS, indirect=True)
def test_a_tool_call_is_a_tool_use_block(claude: anthropic.Anthropic, provider: GatewayUpstream) -> None:
    message = claude.messages.create(model=f"messages-{provider.provider}", max_tokens=50, tools=[WEATHER],
                                     messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    [tool_use] = [block for block in message.content if block.type == "tool_use"]
    assert (tool_use.name, tool_use.input, message.stop_reason) == ("get_weather", provider.tool_arguments,
                                                                   "tool_use")
    assert_received(provider, "chat")


THOUGHT = "The user greets me; I greet back."
ANSWER = "Hello!"


def reasoning_completion(model: str) -> dict[str, Any]:
    return {"id": "chatcmpl-think", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": ANSWER, "reasoning_content": THOUGHT,
                "thinking_blocks": [{"type": "thinking", "thinking": THOUGHT, "signature": "c2lnLXRoaW5r"}]}}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13}}


def reasoning_stream(model: str) -> list[bytes]:
    base = {"id": "chatcmpl-think", "object": "chat.completion.chunk", "created": 1, "model": model}
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "content": ""}, {"reasoning_content": "The user greets me;"},
        {"reasoning_content": " I greet back."},
        {"thinking_blocks": [{"type": "thinking", "thinking": THOUGHT, "signature": "c2lnLXRoaW5r"}]},
        {"content": "Hello"}, {"content": "!"}]
    chunks = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13}})
    return [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]


@pytest.fixture
def reasoner(upstream_model: Callable[..., Any]) -> str:
    upstream_model("reasoner", provider_model="o3-mini")
    return "reasoner"


def test_reasoning_over_chat_is_a_signed_thinking_block_before_the_text(claude: anthropic.Anthropic, reasoner: str,
                                                                        upstream: OpenAIUpstream) -> None:
    upstream.reply_with(Reply.json(200, reasoning_completion("o3-mini")))
    message = claude.messages.create(model=reasoner, max_tokens=2048, messages=HELLO,
                                     thinking={"type": "enabled", "budget_tokens": 1024})
    thinking, text = message.content
    assert (thinking.type, thinking.thinking, thinking.signature) == ("thinking", THOUGHT, "c2lnLXRoaW5r")  # type: ignore[union-attr]
    assert (text.type, text.text) == ("text", ANSWER)  # type: ignore[union-attr]
    assert upstream.requests[0].json()["reasoning_effort"] == "minimal"  # LiteLLM's mapping of a 1024 budget


def test_streamed_reasoning_over_chat_streams_thinking_then_text(claude: anthropic.Anthropic, reasoner: str,
                                                                  upstream: OpenAIUpstream) -> None:
    upstream.reply_with(Reply.stream(reasoning_stream("o3-mini")))
    with claude.messages.stream(model=reasoner, max_tokens=2048, messages=HELLO,
                                thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [event.delta.type for event in events if event.type == "content_block_delta"]
    assert deltas == ["thinking_delta", "thinking_delta", "signature_delta", "text_delta", "text_delta"]
    thinking, text = final.content
    assert (thinking.type, thinking.thinking, thinking.signature) == ("thinking", THOUGHT, "c2lnLXRoaW5r")  # type: ignore[union-attr]
    assert (text.type, text.text) == ("text", ANSWER)  # type: ignore[union-attr]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 9)
    assert upstream.requests[0].json()["stream"] is True
