"""OpenAI-compatible presets: fixture cases per prefix plus each preset's own quirks."""
from __future__ import annotations

import pytest

from apps.core import jsonutil
from apps.providers.adapters.openai_compatible import ApiBaseRequired
from apps.providers.base import ChatCall, EmbeddingCall, Frame, ParamNotSupported, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import FIXTURES, check_translation

PRESETS = ["vllm", "hosted_vllm", "groq", "together_ai", "mistral", "deepseek", "fireworks_ai", "openrouter", "xai",
           "perplexity", "lm_studio", "huggingface", "cerebras", "nvidia_nim"]
CASES = ["text", "stream", "tool_call", "embedding", "error_auth", "error_rate_limit"]


def preset_params() -> list[object]:
    return [pytest.param(prefix, case, id=f"{prefix}-{case}_case") for prefix in PRESETS for case in CASES
            if (FIXTURES / prefix / f"{case}.call.json").exists() or case.startswith("error")]


@pytest.mark.parametrize(("prefix", "case"), preset_params())
def test_preset_translation(prefix: str, case: str) -> None:
    check_translation(prefix, case)


@pytest.mark.parametrize(("prefix", "base"), [
    pytest.param("groq", "https://api.groq.com/openai/v1", id="groq_case"),
    pytest.param("together_ai", "https://api.together.xyz/v1", id="together_case"),
    pytest.param("mistral", "https://api.mistral.ai/v1", id="mistral_case"),
    pytest.param("deepseek", "https://api.deepseek.com/v1", id="deepseek_case"),
    pytest.param("fireworks_ai", "https://api.fireworks.ai/inference/v1", id="fireworks_case"),
    pytest.param("openrouter", "https://openrouter.ai/api/v1", id="openrouter_case"),
    pytest.param("xai", "https://api.x.ai/v1", id="xai_case"),
    pytest.param("perplexity", "https://api.perplexity.ai", id="perplexity_case"),
    pytest.param("lm_studio", "http://localhost:1234/v1", id="lm_studio_case"),
    pytest.param("huggingface", "https://router.huggingface.co/v1", id="huggingface_case"),
    pytest.param("cerebras", "https://api.cerebras.ai/v1", id="cerebras_case"),
    pytest.param("nvidia_nim", "https://integrate.api.nvidia.com/v1", id="nvidia_case"),
])
def test_default_base_url(prefix: str, base: str) -> None:
    request = adapter_for(prefix).translate_request(CALL, Target(provider=prefix, model="m", api_key="k"))
    assert request.url == f"{base}/chat/completions"
    assert request.headers["Authorization"] == "Bearer k"


CALL = ChatCall(model="m", messages=[{"role": "user", "content": "hi"}])


def call_with(**params: object) -> ChatCall:
    return ChatCall(model="m", messages=[{"role": "user", "content": "hi"}], params=params)


def body_for(prefix: str, call: ChatCall, **target: object) -> dict[str, object]:
    request = adapter_for(prefix).translate_request(call, Target(provider=prefix, model="m", **target))  # type: ignore[arg-type]
    return jsonutil.loads(request.body)


@pytest.mark.parametrize("prefix", [pytest.param("vllm", id="vllm_case"), pytest.param("hosted_vllm", id="hosted_case")])
def test_vllm_without_api_base_says_to_set_it(prefix: str) -> None:
    with pytest.raises(ApiBaseRequired, match="set api_base"):
        adapter_for(prefix).translate_request(CALL, Target(provider=prefix, model="m"))


def test_lm_studio_sends_no_auth_without_a_key() -> None:
    request = adapter_for("lm_studio").translate_request(CALL, Target(provider="lm_studio", model="m"))
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(("prefix", "params", "names"), [
    pytest.param("groq", {"logprobs": True, "n": 2}, "logprobs, n", id="groq_case"),
    pytest.param("cerebras", {"presence_penalty": 0.5, "frequency_penalty": 0.1}, "frequency_penalty, presence_penalty",
                 id="cerebras_case"),
    pytest.param("perplexity", {"tools": [{"type": "function"}]}, "tools", id="perplexity_case"),
    pytest.param("mistral", {"logit_bias": {"1": 1}}, "logit_bias", id="mistral_case"),
])
def test_unsupported_params_are_refused_by_name(prefix: str, params: dict[str, object], names: str) -> None:
    with pytest.raises(ParamNotSupported) as caught:
        body_for(prefix, call_with(**params))
    assert f"parameter(s): {names}." in caught.value.message
    assert caught.value.param == names.split(", ")[0]


def test_unsupported_params_are_dropped_under_drop_params() -> None:
    body = body_for("groq", call_with(logprobs=True, top_logprobs=2, temperature=0.5, n=1), drop_params=True)
    assert body == {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, "n": 1}


def test_false_logprobs_is_not_refused() -> None:
    assert body_for("groq", call_with(logprobs=False))["logprobs"] is False


def test_mistral_renames_seed_and_max_completion_tokens() -> None:
    body = body_for("mistral", call_with(seed=3, max_completion_tokens=9))
    assert (body["random_seed"], body["max_tokens"]) == (3, 9)
    assert "seed" not in body and "max_completion_tokens" not in body


def test_fireworks_keeps_full_model_paths() -> None:
    request = adapter_for("fireworks_ai").translate_request(
        CALL, Target(provider="fireworks_ai", model="accounts/me/deployedModels/x"))
    assert jsonutil.loads(request.body)["model"] == "accounts/me/deployedModels/x"


def test_fireworks_embeddings_expand_bare_model_names() -> None:
    request = adapter_for("fireworks_ai").translate_embedding_request(
        EmbeddingCall(model="e", input="x"), Target(provider="fireworks_ai", model="nomic-embed-text-v1.5"))
    assert jsonutil.loads(request.body)["model"] == "accounts/fireworks/models/nomic-embed-text-v1.5"


def test_openrouter_attribution_headers_come_from_extra() -> None:
    target = Target(provider="openrouter", model="m", extra={"site_url": "https://app.example", "app_name": "Tollgate"})
    headers = adapter_for("openrouter").translate_request(CALL, target).headers
    assert (headers["HTTP-Referer"], headers["X-Title"]) == ("https://app.example", "Tollgate")


def test_openrouter_mid_stream_error_keeps_its_status() -> None:
    adapter = adapter_for("openrouter")
    frame = Frame(data=b'{"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider '
                       b'disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}')
    with pytest.raises(UpstreamError) as caught:
        adapter.parse_stream_chunk(frame, adapter.new_stream_state())
    assert (caught.value.upstream_status, caught.value.message, caught.value.retryable) == (
        502, "Provider disconnected", True)


def test_deepseek_cache_hits_count_as_cached_tokens() -> None:
    raw = b'{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_cache_hit_tokens":6}}'
    completion = adapter_for("deepseek").parse_response(200, raw, Target(provider="deepseek", model="m"))
    assert completion.usage.cached_tokens == 6


def test_deepseek_passes_reasoning_content_back_upstream() -> None:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "", "reasoning_content": "r",
                 "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]
    body = body_for("deepseek", ChatCall(model="m", messages=messages))  # type: ignore[arg-type]
    assert body["messages"] == messages


def test_usage_without_a_finishing_chunk_is_sent_at_done() -> None:
    adapter = adapter_for("perplexity")
    state = adapter.new_stream_state()
    first = adapter.parse_stream_chunk(Frame(data=b'{"id":"p","model":"sonar","choices":[{"index":0,"delta":'
                                                  b'{"content":"a"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}'),
                                       state)
    done = adapter.parse_stream_chunk(Frame(data=b"[DONE]"), state)
    assert [c.body for c in first] == [{"id": "p", "model": "sonar", "choices": [{"index": 0, "delta": {"content": "a"}}]}]
    assert [(c.body, c.usage.prompt_tokens if c.usage else None) for c in done] == [
        ({"id": "p", "model": "sonar", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 1}}, 2)]
