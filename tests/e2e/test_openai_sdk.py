"""The official openai SDK against the gateway on a real socket, on the built-in mock provider."""
from __future__ import annotations

import openai
import pytest

pytestmark = [pytest.mark.smoke, pytest.mark.usefixtures("example_models")]


def test_chat_completion_answers_with_usage(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi there"}])
    assert completion.choices[0].message.content == "This is a mock response to: hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 8)


def test_chat_honours_n_and_max_tokens(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="gpt-4o-mini", n=2, max_tokens=3,
                                             messages=[{"role": "user", "content": "say many words please"}])
    assert [c.message.content for c in completion.choices] == ["This is a", "This is a"]
    assert [c.finish_reason for c in completion.choices] == ["length", "length"]


def test_stream_delivers_every_chunk_and_usage_when_asked(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": "stream me"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "This is a mock response to: stream me"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8


def test_stream_without_include_usage_sends_no_usage(sdk: openai.OpenAI) -> None:
    chunks = list(sdk.chat.completions.create(model="gpt-4o-mini", stream=True,
                                              messages=[{"role": "user", "content": "x"}]))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_call_round_trip(sdk: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    completion = sdk.chat.completions.create(model="gpt-4o-mini", tools=tools,
                                             messages=[{"role": "user", "content": "weather?"}])
    call = completion.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city":"mock"}')
    assert completion.choices[0].finish_reason == "tool_calls"


def test_embeddings(sdk: openai.OpenAI) -> None:
    result = sdk.embeddings.create(model="text-embedding-3-small", input=["a b", "c"], dimensions=4)
    assert [len(item.embedding) for item in result.data] == [4, 4]
    assert result.usage.prompt_tokens == 3


def test_models_list_and_retrieve(sdk: openai.OpenAI) -> None:
    assert [m.id for m in sdk.models.list()] == ["gpt-4o-mini", "text-embedding-3-small"]
    assert sdk.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"


def test_unknown_model_raises_not_found(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["code"] == "model_not_found"


def test_bad_key_raises_authentication_error(gateway) -> None:  # type: ignore[no-untyped-def]
    client = openai.OpenAI(api_key="sk-wrong", base_url=f"{gateway.url}/v1", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 401
    assert "sk-wrong" not in str(caught.value.body)


def test_empty_messages_raise_bad_request(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert caught.value.body["param"] == "messages"
