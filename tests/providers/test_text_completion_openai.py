"""text-completion-openai: fixtures, the prompt rules, refused chat-only parameters, and a wire round trip."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from apps.core import jsonutil
from apps.providers import transport
from apps.providers.base import ChatCall, ParamNotSupported, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import call_from_body, check_translation, load, target_for
from tests.upstreams import text_completion_openai as twin_module
from tests.upstreams.recording import RecordingServer

PREFIX = "text-completion-openai"
CASES = ["text", "stream", "error_auth", "error_rate_limit"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_fixture_case(case: str) -> None:
    check_translation(PREFIX, case)


def test_tools_are_refused_naming_them_and_dropped_under_drop_params() -> None:
    call = call_from_body(load(PREFIX, "tokens_prompt.call.json"))
    assert isinstance(call, ChatCall)
    with pytest.raises(ParamNotSupported) as caught:
        adapter_for(PREFIX).translate_request(call, target_for(PREFIX))
    assert (caught.value.status, caught.value.param) == (400, "tools")
    request = adapter_for(PREFIX).translate_request(call, replace(target_for(PREFIX), drop_params=True))
    # a lone message holding token ids is sent as the token prompt it is
    assert jsonutil.loads(request.body) == {"model": "gpt-3.5-turbo-instruct", "prompt": [1212, 318, 257]}


@pytest.fixture
async def closing_transport() -> AsyncIterator[None]:
    yield
    await transport.close_all()


async def test_conversation_round_trip_and_stream(closing_transport: None) -> None:
    messages: list[Any] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Greet me"}]
    adapter = adapter_for(PREFIX)
    with RecordingServer(twin_module.respond) as twin:
        target = Target(provider=PREFIX, model=twin_module.MODEL, api_base=f"{twin.url}/v1", api_key=twin_module.API_KEY)
        answer = await transport.send_chat(adapter, ChatCall(model="i", messages=messages, params={"max_tokens": 9}),
                                           target)
        stream = await transport.open_chat_stream(adapter, ChatCall(model="i", messages=messages, stream=True), target)
        chunks = [chunk async for chunk in stream.chunks()]
    assert [seen.json() for seen in twin.requests] == [
        {"model": twin_module.MODEL, "prompt": "Be brief.\nGreet me", "max_tokens": 9},
        {"model": twin_module.MODEL, "prompt": "Be brief.\nGreet me", "stream": True,
         "stream_options": {"include_usage": True}}]
    assert answer.body["choices"] == [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                       "message": {"role": "assistant", "content": twin_module.ANSWER}}]
    assert answer.usage.as_openai() == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert "".join(chunk.body["choices"][0]["delta"]["content"] for chunk in chunks if chunk.body["choices"]) == (
        twin_module.ANSWER)
    assert [chunk.usage.as_openai() for chunk in chunks if chunk.usage] == [
        {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}]


async def test_unsupported_field_reaches_the_caller_as_the_upstream_400(closing_transport: None) -> None:
    with RecordingServer(twin_module.respond) as twin:
        target = Target(provider=PREFIX, model=twin_module.MODEL, api_base=f"{twin.url}/v1", api_key=twin_module.API_KEY)
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for(PREFIX), ChatCall(model="i", messages=[{"role": "user", "content": "x"}],
                                                                    params={"store": True}), target)
    assert (caught.value.status, caught.value.param, caught.value.message) == (
        400, "store", "Unrecognized request argument supplied: store")
