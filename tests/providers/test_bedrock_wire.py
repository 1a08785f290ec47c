"""The Bedrock adapter through the real transport against a real HTTP twin that verifies SigV4."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.upstreams.bedrock import ACCESS_KEY, SECRET_KEY, bedrock_twin, error_twin, event

MODEL = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
ENCODED = ("arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
           "us.anthropic.claude-3-5-haiku-20241022-v1%3A0")
CONVERSE = {"output": {"message": {"role": "assistant", "content": [{"text": "Hello from Bedrock."}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 8, "outputTokens": 5, "totalTokens": 13},
            "metrics": {"latencyMs": 100}}
STREAM = [
    event("messageStart", {"role": "assistant"}),
    event("contentBlockStart", {"contentBlockIndex": 0,
                                "start": {"toolUse": {"toolUseId": "tu_1", "name": "lookup"}}}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"q\":"}}}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": " \"tollgate\"}"}}}),
    event("contentBlockStop", {"contentBlockIndex": 0}),
    event("messageStop", {"stopReason": "tool_use"}),
    event("metadata", {"usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42},
                       "metrics": {"latencyMs": 9}}),
]
TITAN = {"embedding": [0.1, 0.2, 0.3], "inputTextTokenCount": 2}
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture
async def closing_transport() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def target_for(base_url: str, model: str = MODEL) -> Target:
    return Target(provider="bedrock", model=model, api_base=base_url,
                  extra={"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY,
                         "aws_region_name": "us-east-1"})


async def test_converse_round_trip_is_signed(closing_transport: None) -> None:
    call = ChatCall(model="haiku", messages=[{"role": "system", "content": "Be kind."},
                                             {"role": "user", "content": "Hello"}], params={"max_tokens": 20})
    with bedrock_twin(converse=CONVERSE, stream=STREAM, embedding=TITAN) as twin:
        result = await transport.send_chat(adapter_for("bedrock"), call, target_for(twin.url))
    assert twin.failures == []
    seen = twin.requests[0]
    assert seen.path == f"/model/{ENCODED}/converse"
    assert seen.json() == {"messages": [{"role": "user", "content": [{"text": "Hello"}]}],
                           "system": [{"text": "Be kind."}], "inferenceConfig": {"maxTokens": 20}}
    assert result.body["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": "Hello from Bedrock."}}]
    assert result.usage.as_openai() == {"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13}


async def test_converse_stream_decodes_event_stream(closing_transport: None) -> None:
    call = ChatCall(model="haiku", messages=[{"role": "user", "content": "Find tollgate"}], stream=True,
                    params={"tools": TOOLS, "tool_choice": "auto"})
    with bedrock_twin(converse=CONVERSE, stream=STREAM, embedding=TITAN) as twin:
        stream = await transport.open_chat_stream(adapter_for("bedrock"), call, target_for(twin.url))
        chunks = [chunk async for chunk in stream.chunks()]
    assert twin.failures == []
    assert twin.requests[0].path == f"/model/{ENCODED}/converse-stream"
    assert twin.requests[0].json()["toolConfig"]["toolChoice"] == {"auto": {}}
    deltas = [chunk.body["choices"][0]["delta"] for chunk in chunks if chunk.body["choices"]]
    assert deltas[1] == {"tool_calls": [{"index": 0, "id": "tu_1", "type": "function",
                                         "function": {"name": "lookup", "arguments": ""}}]}
    arguments = "".join(call["function"]["arguments"] for delta in deltas for call in delta.get("tool_calls", []))
    assert arguments == "{\"q\": \"tollgate\"}"
    assert chunks[-2].body["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.as_openai() == {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}


async def test_titan_embedding_round_trip(closing_transport: None) -> None:
    call = EmbeddingCall(model="titan", input="hi there")
    with bedrock_twin(converse=CONVERSE, stream=STREAM, embedding=TITAN) as twin:
        target = target_for(twin.url, model="amazon.titan-embed-text-v2:0")
        result = await transport.send_embedding(adapter_for("bedrock"), call, target)
    assert twin.failures == []
    assert (twin.requests[0].path, twin.requests[0].json()) == (
        "/model/amazon.titan-embed-text-v2%3A0/invoke", {"inputText": "hi there"})
    assert result.body["data"] == [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}]
    assert result.usage.prompt_tokens == 2


async def test_throttling_answer_raises_mapped_error(closing_transport: None) -> None:
    call = ChatCall(model="haiku", messages=[{"role": "user", "content": "Hello"}])
    with error_twin(429, error_type="ThrottlingException", message="Too many requests") as twin:
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("bedrock"), call, target_for(twin.url))
    error = caught.value
    assert (error.upstream_status, error.error_code, error.message, error.retryable) == (
        429, "rate_limit_exceeded", "Too many requests", True)


async def test_twin_rejects_a_request_signed_with_the_wrong_secret(closing_transport: None) -> None:
    call = ChatCall(model="haiku", messages=[{"role": "user", "content": "Hello"}])
    with bedrock_twin(converse=CONVERSE, stream=STREAM, embedding=TITAN) as twin:
        target = target_for(twin.url)
        target = Target(provider="bedrock", model=MODEL, api_base=twin.url,
                        extra={**target.extra, "aws_secret_access_key": "not-the-secret"})
        with pytest.raises(UpstreamError):
            await transport.send_chat(adapter_for("bedrock"), call, target)
    assert len(twin.failures) == 1 and twin.failures[0].startswith("signature mismatch")
