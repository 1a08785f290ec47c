from __future__ import annotations

import pytest

from apps.core import jsonutil
from apps.providers.base import ChatCall, EmbeddingCall, Frame, ParamNotSupported, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import check_translation, stream_chunks

CASES = ["text", "stream", "tool_call", "stream_tools", "images", "json_schema", "thinking", "stream_thinking",
         "embedding", "error_auth", "error_rate_limit", "error_model_not_found", "error_context", "error_busy",
         "error_thinking", "error_server"]


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c}_case") for c in CASES])
def test_ollama_translation(case: str) -> None:
    check_translation("ollama", case)


TARGET = Target(provider="ollama", model="llama3.2")


def body_for(call: ChatCall, target: Target = TARGET) -> dict[str, object]:
    return jsonutil.loads(adapter_for("ollama").translate_request(call, target).body)


def test_default_base_is_the_local_server() -> None:
    request = adapter_for("ollama").translate_request(ChatCall(model="x", messages=[]), TARGET)
    assert request.url == "http://localhost:11434/api/chat"
    assert "Authorization" not in request.headers


def test_api_key_is_sent_as_bearer_for_ollama_cloud() -> None:
    target = Target(provider="ollama", model="gpt-oss:120b", api_base="https://ollama.com", api_key="ok-1")
    request = adapter_for("ollama").translate_request(ChatCall(model="x", messages=[]), target)
    assert request.url == "https://ollama.com/api/chat"
    assert request.headers["Authorization"] == "Bearer ok-1"


@pytest.mark.parametrize(("effort", "think"), [pytest.param("low", "low", id="low_case"),
                                                pytest.param("minimal", False, id="minimal_case"),
                                                pytest.param("xhigh", "max", id="xhigh_case")])
def test_reasoning_effort_becomes_think(effort: str, think: object) -> None:
    call = ChatCall(model="x", messages=[{"role": "user", "content": "q"}], params={"reasoning_effort": effort})
    assert body_for(call)["think"] == think


def test_tool_choice_none_sends_no_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    call = ChatCall(model="x", messages=[{"role": "user", "content": "q"}], params={"tools": tools, "tool_choice": "none"})
    assert "tools" not in body_for(call)


def test_forced_tool_choice_is_refused_naming_the_param() -> None:
    call = ChatCall(model="x", messages=[{"role": "user", "content": "q"}], params={"tool_choice": "required", "n": 2})
    with pytest.raises(ParamNotSupported) as caught:
        body_for(call)
    assert caught.value.param == "n"
    assert "n, tool_choice" in caught.value.message


def test_forced_tool_choice_is_dropped_under_drop_params() -> None:
    call = ChatCall(model="x", messages=[{"role": "user", "content": "q"}], params={"logit_bias": {"1": 2}})
    body = body_for(call, Target(provider="ollama", model="m", drop_params=True))
    assert body == {"model": "m", "stream": False, "messages": [{"role": "user", "content": "q"}]}


def test_remote_image_url_is_refused() -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    with pytest.raises(ParamNotSupported):
        body_for(ChatCall(model="x", messages=[{"role": "user", "content": content}]))


def test_developer_role_becomes_system() -> None:
    call = ChatCall(model="x", messages=[{"role": "developer", "content": "rules"}])
    assert body_for(call)["messages"] == [{"role": "system", "content": "rules"}]


def test_mid_stream_error_line_raises_the_mapped_error() -> None:
    raw = (b'{"model":"m","created_at":"2025-10-26T17:21:21.196249Z","message":{"role":"assistant","content":"Yes"},'
           b'"done":false}\n{"error":"an error was encountered while running the model"}\n')
    with pytest.raises(UpstreamError) as caught:
        stream_chunks("ollama", raw)
    assert caught.value.message == "an error was encountered while running the model"
    assert caught.value.retryable


def test_streamed_tool_calls_use_distinct_indexes_and_ids() -> None:
    adapter = adapter_for("ollama")
    state = adapter.new_stream_state()
    line = b'{"model":"m","message":{"role":"assistant","content":"","tool_calls":[%s,%s]},"done":false}' % (
        b'{"function":{"name":"a","arguments":{}}}', b'{"function":{"name":"b","arguments":{"x":1}}}')
    [chunk] = adapter.parse_stream_chunk(Frame(data=line), state)
    calls = chunk.body["choices"][0]["delta"]["tool_calls"]
    assert [(c["index"], c["function"]["arguments"]) for c in calls] == [(0, "{}"), (1, '{"x":1}')]
    assert calls[0]["id"] != calls[1]["id"] and calls[0]["id"].startswith("call_")


def test_embedding_usage_counts_prompt_tokens() -> None:
    result = adapter_for("ollama").parse_embedding_response(200, b'{"embeddings":[[1.0]],"prompt_eval_count":8}', TARGET)
    assert result.usage.prompt_tokens == 8
    assert result.body["usage"] == {"prompt_tokens": 8, "total_tokens": 8}


def test_single_string_embedding_input_stays_a_string() -> None:
    request = adapter_for("ollama").translate_embedding_request(EmbeddingCall(model="e", input="hi"), TARGET)
    assert jsonutil.loads(request.body) == {"model": "llama3.2", "input": "hi"}


def test_token_id_embedding_input_is_refused() -> None:
    with pytest.raises(ParamNotSupported):
        adapter_for("ollama").translate_embedding_request(EmbeddingCall(model="e", input=[1, 2, 3]), TARGET)


def test_ollama_chat_alias_speaks_the_same_api() -> None:
    request = adapter_for("ollama_chat").translate_request(ChatCall(model="x", messages=[]), TARGET)
    assert request.url == "http://localhost:11434/api/chat"
    assert adapter_for("ollama_chat").framing == "ndjson"
