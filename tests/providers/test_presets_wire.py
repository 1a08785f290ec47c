"""OpenAI-compatible presets through the real transport against a local OpenAI-compatible server."""
from __future__ import annotations

import pytest

from apps.providers import transport
from apps.providers.base import ChatCall, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.upstreams import openai_compatible

CALL = ChatCall(model="m", messages=[{"role": "user", "content": "hi"}], stream=True, params={"seed": 1})


@pytest.mark.parametrize(("prefix", "usage_on_last_chunk", "seed_name"), [
    pytest.param("vllm", False, "seed", id="vllm_case"),
    pytest.param("groq", False, "seed", id="groq_case"),
    pytest.param("mistral", True, "random_seed", id="mistral_case"),
    pytest.param("together_ai", True, "seed", id="together_case"),
])
async def test_stream_ends_with_a_usage_only_chunk(prefix: str, usage_on_last_chunk: bool, seed_name: str) -> None:
    with openai_compatible.server(usage_on_last_chunk=usage_on_last_chunk) as upstream:
        target = Target(provider=prefix, model="served-model", api_base=f"{upstream.url}/v1",
                        api_key=openai_compatible.API_KEY, timeout=10.0)
        stream = await transport.open_chat_stream(adapter_for(prefix), CALL, target)
        chunks = [chunk async for chunk in stream.chunks()]
        await transport.close_all()
    [request] = upstream.requests
    body = request.json()
    assert body[seed_name] == 1 and body["model"] == "served-model"
    assert ("stream_options" in body) is (prefix != "mistral")
    assert [c.body["choices"] for c in chunks][-1] == []
    assert chunks[-1].body["usage"] == openai_compatible.USAGE and chunks[-1].usage is not None
    assert [c.usage for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert "usage" not in chunks[-2].body and chunks[-2].body["choices"][0]["finish_reason"] == "stop"


async def test_bad_key_is_an_authentication_error() -> None:
    with openai_compatible.server() as upstream:
        target = Target(provider="vllm", model="m", api_base=f"{upstream.url}/v1", api_key="wrong", timeout=10.0)
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("vllm"), ChatCall(model="m", messages=[]), target)
        await transport.close_all()
    assert (caught.value.status, caught.value.error_code) == (401, "invalid_api_key")
