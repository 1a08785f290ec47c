"""SageMaker (`sagemaker/`, `sagemaker_chat/`): fixtures, then both adapters through the real transport against
a twin that verifies every SigV4 signature for service `sagemaker`."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, ParamNotSupported, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import check_translation
from tests.upstreams.sagemaker import EMBEDDING_ENDPOINT, ENDPOINT, SIGNED_PARAMS, TOKENS, SageMakerUpstream

CASES = [("sagemaker", case) for case in ("text", "stream", "embedding", "error_auth", "error_rate_limit",
                                          "error_model", "error_not_ready")] + \
        [("sagemaker_chat", case) for case in ("text", "tool_call", "stream", "error_auth", "error_rate_limit")]
HELLO = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(("prefix", "case"), [pytest.param(*pair, id=f"{pair[0]}-{pair[1]}_case") for pair in CASES])
def test_fixture_case(prefix: str, case: str) -> None:
    check_translation(prefix, case)


@pytest.fixture
async def closing_transport() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def target_for(twin: SageMakerUpstream, provider: str = "sagemaker", **extra: object) -> Target:
    return Target(provider=provider, model=ENDPOINT, api_base=twin.url, timeout=10, extra={**SIGNED_PARAMS, **extra})


async def test_textgen_answer_and_stream_are_signed_and_openai_shaped(closing_transport: None) -> None:
    adapter = adapter_for("sagemaker")
    with SageMakerUpstream() as twin:
        answer = await transport.send_chat(adapter, ChatCall(model="s", messages=HELLO, params={"max_tokens": 8}),
                                           target_for(twin))
        stream = await transport.open_chat_stream(adapter, ChatCall(model="s", messages=HELLO, stream=True),
                                                  target_for(twin))
        chunks = [chunk async for chunk in stream.chunks()]
    assert twin.failures == []
    assert [(seen.path, seen.json()) for seen in twin.requests] == [
        (f"/endpoints/{ENDPOINT}/invocations", {"inputs": "<s>[INST] hello [/INST]", "parameters": {"max_new_tokens": 8}}),
        (f"/endpoints/{ENDPOINT}/invocations-response-stream",
         {"inputs": "<s>[INST] hello [/INST]", "parameters": {}, "stream": True})]
    assert answer.body["choices"][0]["message"] == {"role": "assistant", "content": "".join(TOKENS)}
    # no prompt count from TGI: the transport estimates it from the messages (3 + 4 + 2)
    assert answer.usage.as_openai() == {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
    assert answer.body["usage"] == answer.usage.as_openai()
    assert "".join(chunk.body["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk.body["choices"]) == (
        "".join(TOKENS))
    assert [chunk.body["choices"][0]["finish_reason"] for chunk in chunks if chunk.body["choices"]][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].body["usage"] == chunks[-1].usage.as_openai() == {
        "prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    assert {chunk.body["model"] for chunk in chunks} == {ENDPOINT}


async def test_chat_endpoint_round_trip_and_stream(closing_transport: None) -> None:
    adapter = adapter_for("sagemaker_chat")
    with SageMakerUpstream() as twin:
        answer = await transport.send_chat(adapter, ChatCall(model="s", messages=HELLO), target_for(twin, "sagemaker_chat"))
        stream = await transport.open_chat_stream(adapter, ChatCall(model="s", messages=HELLO, stream=True),
                                                  target_for(twin, "sagemaker_chat", model_id="ic-qwen"))
        chunks = [chunk async for chunk in stream.chunks()]
    assert twin.failures == []
    assert [seen.json() for seen in twin.requests] == [{"model": ENDPOINT, "messages": HELLO},
                                                       {"model": ENDPOINT, "messages": HELLO, "stream": True}]
    assert twin.requests[1].headers["x-amzn-sagemaker-inference-component"] == "ic-qwen"
    assert answer.body["choices"][0]["message"]["content"] == "".join(TOKENS)
    assert answer.usage.as_openai() == {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}
    assert "".join(chunk.body["choices"][0]["delta"]["content"] for chunk in chunks if chunk.body["choices"]) == (
        "".join(TOKENS))
    assert [chunk.usage.as_openai() for chunk in chunks if chunk.usage] == [
        {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}]


async def test_unknown_parameter_is_refused_before_sending(closing_transport: None) -> None:
    call = ChatCall(model="s", messages=HELLO, params={"min_new_tokens": 3})
    with SageMakerUpstream() as twin:
        with pytest.raises(ParamNotSupported) as caught:
            await transport.send_chat(adapter_for("sagemaker"), call, target_for(twin, "sagemaker"))
    # min_new_tokens is neither OpenAI's nor TGI's name
    assert (caught.value.status, caught.value.param, twin.requests) == (400, "min_new_tokens", [])


async def test_container_error_keeps_its_own_status(closing_transport: None) -> None:
    call = ChatCall(model="s", messages=[{"role": "user", "content": "overflow the context"}])
    with SageMakerUpstream() as twin:
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("sagemaker"), call, target_for(twin, "sagemaker"))
    assert (caught.value.status, caught.value.error_type, caught.value.retryable) == (422, "invalid_request_error", False)
    assert caught.value.message == ("Received client error (422) from primary with message \"Input validation error: "
                                    "`inputs` must have less than 4096 tokens\". See logs.")


async def test_wrong_secret_fails_the_twins_signature_check(closing_transport: None) -> None:
    with SageMakerUpstream() as twin:
        target = target_for(twin, aws_secret_access_key="not-the-secret")
        with pytest.raises(UpstreamError):
            await transport.send_chat(adapter_for("sagemaker"), ChatCall(model="s", messages=HELLO), target)
    assert len(twin.failures) == 1 and twin.failures[0].startswith("signature mismatch")


async def test_throttled_endpoint_is_a_retryable_429(closing_transport: None) -> None:
    with SageMakerUpstream() as twin:
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("sagemaker"), ChatCall(model="s", messages=[
                {"role": "user", "content": "please throttle"}]), target_for(twin))
    assert (caught.value.status, caught.value.error_code, caught.value.retryable, caught.value.message) == (
        429, "rate_limit_exceeded", True, "Rate exceeded")


async def test_embeddings_round_trip_with_estimated_usage(closing_transport: None) -> None:
    with SageMakerUpstream() as twin:
        target = replace(target_for(twin), model=EMBEDDING_ENDPOINT)
        result = await transport.send_embedding(adapter_for("sagemaker"), EmbeddingCall(model="e", input=["abcd", "ab"]),
                                                target)
    assert twin.failures == []
    [seen] = twin.requests
    assert (seen.path, seen.json()) == (f"/endpoints/{EMBEDDING_ENDPOINT}/invocations", {"inputs": ["abcd", "ab"]})
    assert result.body["data"] == [{"object": "embedding", "index": 0, "embedding": [4.0, 0.5, -0.5]},
                                   {"object": "embedding", "index": 1, "embedding": [2.0, 0.5, -0.5]}]
    assert result.body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert result.usage.prompt_tokens == 2
