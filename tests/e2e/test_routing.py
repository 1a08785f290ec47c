"""Routing through the real gateway process against a real upstream that fails, stalls, rate-limits and
answers context-length errors: failover, cooldowns, fallbacks, timeouts, limits, names."""
from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx
import openai
import pytest

from apps.routing.models import RouterSettings
from tests.upstreams.openai import OpenAIUpstream, paced
from tests.upstreams.recording import Reply

MSG = [{"role": "user", "content": "hello"}]
SERVER_ERROR = Reply.json(500, {"error": {"message": "upstream broke", "type": "server_error"}})
RATE_LIMITED = Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}})
CONTEXT = Reply.json(400, {"error": {"message": "This model's maximum context length is 10 tokens.",
                                     "type": "invalid_request_error", "code": "context_length_exceeded"}})


def router(*, strategy: str = "cost-based", num_retries: int = 1, **settings: Any) -> None:
    """Router settings for the test; cost-based by default so the cheaper deployment is always tried first."""
    RouterSettings.objects.update_or_create(pk=1, defaults={"routing_strategy": strategy, "num_retries": num_retries,
                                                            "settings": settings})


def pair(upstream_model, group: str = "upstream-gpt", **second: Any):
    """Deployments `first` (cheaper, tried first by cost-based routing) and `second` of one group."""
    first = upstream_model(group, provider_model="first", input_cost_per_token=Decimal("0.000001"),
                           output_cost_per_token=Decimal("0.000001"))
    other = upstream_model(group, provider_model="second", input_cost_per_token=Decimal("0.00001"),
                           output_cost_per_token=Decimal("0.00001"), **second)
    return first, other


def chat(http: httpx.Client, model: str = "upstream-gpt", **body: Any) -> httpx.Response:
    return http.post("/v1/chat/completions", json={"model": model, "messages": MSG, **body})


def test_a_failing_deployment_fails_over_to_the_next(upstream_model, upstream: OpenAIUpstream,
                                                     http: httpx.Client) -> None:
    first, second = pair(upstream_model)
    router(allowed_fails=100)
    upstream.always_for("first", SERVER_ERROR)
    response = chat(http)
    assert response.status_code == 200
    assert upstream.models_called() == ["first", "second"]
    assert response.headers["x-litellm-model-id"] == str(second.pk)
    assert (response.headers["x-tollgate-attempts"], response.headers["x-litellm-attempted-fallbacks"]) == ("2", "0")


def test_a_stalled_deployment_times_out_and_fails_over(upstream_model, upstream: OpenAIUpstream,
                                                       http: httpx.Client) -> None:
    pair(upstream_model)
    router()
    upstream.always_for("first", Reply(stall=True))
    response = chat(http, timeout=0.5)  # per-request timeout, from the body
    assert response.status_code == 200
    assert upstream.models_called() == ["first", "second"]
    assert upstream.hangup_event.wait(5)


def test_a_rate_limited_deployment_is_cooled_down_for_later_calls(upstream_model, upstream: OpenAIUpstream,
                                                                  http: httpx.Client) -> None:
    pair(upstream_model)
    router(cooldown_time=60)
    upstream.always_for("first", RATE_LIMITED)
    assert [chat(http).status_code for _ in range(3)] == [200, 200, 200]
    assert upstream.models_called() == ["first", "second", "second", "second"]


def test_repeated_failures_cool_a_deployment_after_allowed_fails(upstream_model, upstream: OpenAIUpstream,
                                                                 http: httpx.Client) -> None:
    pair(upstream_model)
    router(allowed_fails=2, cooldown_time=60)
    upstream.always_for("first", SERVER_ERROR)
    assert [chat(http).status_code for _ in range(4)] == [200] * 4
    assert upstream.models_called() == ["first", "second", "first", "second", "second", "second"]


def test_context_length_errors_go_to_context_window_fallbacks(upstream_model, upstream: OpenAIUpstream,
                                                              http: httpx.Client) -> None:
    upstream_model("upstream-gpt", provider_model="small")
    big = upstream_model("upstream-gpt-long", provider_model="long")
    router(num_retries=0, context_window_fallbacks=[{"upstream-gpt": ["upstream-gpt-long"]}])
    upstream.always_for("small", CONTEXT)
    response = chat(http)
    assert response.status_code == 200
    assert response.headers["x-litellm-model-id"] == str(big.pk)
    assert response.headers["x-litellm-attempted-fallbacks"] == "1"
    assert response.headers["x-litellm-model-group"] == "upstream-gpt-long"
    assert upstream.models_called() == ["small", "long"]


def test_pre_call_checks_skip_deployments_the_prompt_cannot_fit(upstream_model, upstream: OpenAIUpstream,
                                                                http: httpx.Client) -> None:
    upstream_model("upstream-gpt", provider_model="small", model_info={"max_input_tokens": 20})
    upstream_model("upstream-gpt-long", provider_model="long", model_info={"max_input_tokens": 100_000})
    router(enable_pre_call_checks=True, context_window_fallbacks=[{"upstream-gpt": ["upstream-gpt-long"]}])
    response = http.post("/v1/chat/completions", json={
        "model": "upstream-gpt", "messages": [{"role": "user", "content": "many words " * 50}]})
    assert response.status_code == 200
    assert upstream.models_called() == ["long"]


def test_generic_fallbacks_serve_when_the_group_cannot(upstream_model, upstream: OpenAIUpstream,
                                                       http: httpx.Client) -> None:
    upstream_model("upstream-gpt", provider_model="first")
    spare = upstream_model("spare", provider_model="spare")
    router(num_retries=0, fallbacks=[{"upstream-gpt": ["spare"]}])
    upstream.always_for("first", SERVER_ERROR)
    response = chat(http)
    assert response.status_code == 200
    assert response.headers["x-litellm-model-id"] == str(spare.pk)
    # A per-request list replaces the router's; an empty one turns fallbacks off.
    assert chat(http, fallbacks=[]).status_code == 502


def test_bad_requests_are_never_retried(upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    pair(upstream_model)
    router(num_retries=3, fallbacks=["upstream-gpt"])
    upstream.always_for("first", Reply.json(400, {"error": {"message": "bad", "type": "invalid_request_error"}}))
    assert chat(http).status_code == 400
    assert upstream.models_called() == ["first"]


def test_one_retry_budget_and_sdks_told_not_to_retry_again(upstream_model, upstream: OpenAIUpstream,
                                                           gateway) -> None:
    pair(upstream_model)
    upstream_model("spare", provider_model="spare")
    router(num_retries=2, allowed_fails=100, retry_backoff_base=0, fallbacks=[{"upstream-gpt": ["spare"]}])
    for model in ("first", "second", "spare"):
        upstream.always_for(model, SERVER_ERROR)
    sdk = openai.OpenAI(api_key="sk-test-master-0123456789", base_url=f"{gateway.url}/v1", max_retries=3)
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.chat.completions.create(model="upstream-gpt", messages=MSG)
    assert caught.value.response.headers["x-should-retry"] == "false"
    # One call: three attempts on the group, one on the fallback; the SDK added none.
    assert len(upstream.models_called()) == 4


def test_deployments_over_their_rpm_are_skipped_then_429(upstream_model, upstream: OpenAIUpstream,
                                                         http: httpx.Client) -> None:
    upstream_model("limited", provider_model="limited", rpm=1)
    router()
    if time.time() % 60 > 55:  # usage counts per wall-clock minute: do not straddle two
        time.sleep(60 - time.time() % 60 + 0.05)
    first, second = chat(http, model="limited"), chat(http, model="limited")
    assert first.status_code == 200 and second.status_code == 429
    assert second.json()["error"]["code"] == "no_deployments_available"
    assert 1 <= int(second.headers["retry-after"]) <= 60


def test_a_silent_stream_is_a_clean_408_before_its_first_token(upstream_model, upstream: OpenAIUpstream,
                                                                http: httpx.Client) -> None:
    upstream_model(litellm_params={"stream_timeout": 0.5})
    router(num_retries=0)
    upstream.reply_with(paced(3))
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG, "stream": True})
    # Nothing reached the client before the upstream went silent, so the failure is an ordinary error answer.
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "timeout"


def test_wildcard_groups_call_the_requested_model(upstream_model, upstream: OpenAIUpstream,
                                                  http: httpx.Client) -> None:
    upstream_model("up/*", provider_model="*")
    router()
    response = chat(http, model="up/gpt-9-mini")
    assert response.status_code == 200
    assert upstream.models_called() == ["gpt-9-mini"]


@pytest.mark.parametrize("name", [pytest.param("up/i\u00df\u001d<\u00e5", id="control_and_latin_case"),
                                  pytest.param("up/a\r\nSet-Cookie: x=1", id="line_break_case"),
                                  pytest.param("up/\u6a21\u578b-100%", id="cjk_and_percent_case")])
def test_any_requested_name_comes_back_as_a_valid_model_group_header(upstream_model, upstream: OpenAIUpstream,
                                                                     http: httpx.Client, name: str) -> None:
    """A wildcard group serves whatever name the client sends; its x-litellm-model-group header is that name
    percent-encoded where it is not printable ASCII (the server refused such a value and dropped the answer)."""
    upstream_model("up/*", provider_model="*")
    router()
    for stream in (False, True):
        response = chat(http, model=name, stream=stream)
        assert response.status_code == 200, response.text
        assert unquote(response.headers["x-litellm-model-group"]) == name
        assert "set-cookie" not in response.headers
    assert upstream.models_called() == [name.removeprefix("up/")] * 2


def test_aliases_reach_their_group(upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream_model(provider_model="aliased")
    router(model_group_alias={"gpt4": "upstream-gpt"})
    assert chat(http, model="gpt4").status_code == 200
    assert upstream.models_called() == ["aliased"]
