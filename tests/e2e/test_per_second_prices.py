"""LiteLLM's per-second prices (`input_cost_per_second` / `output_cost_per_second`, as its sample config prices a
SageMaker endpoint) and a deployment's own cache prices, billed through the gateway and checked in spend rows."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial

import httpx

from apps.providers import mock_upstream
from tests.conftest import GatewayProcess
from tests.teams.conftest import make_key, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Recorded, Reply

MSG = [{"role": "user", "content": "hello"}]
PER_SECOND = {"input_cost_per_second": 0.01, "output_cost_per_second": 0.02}
RATE = Decimal("0.03")  # USD per second of the call, input and output together
PIECE_DELAY = 0.1


def slow(request: Recorded, delay: float = PIECE_DELAY) -> Reply:
    """The mock answer's JSON sent in three pieces, `delay` seconds before each: the call lasts 3 x delay or more."""
    _, body = mock_upstream.respond(request.path, request.body)
    assert isinstance(body, bytes)
    third = len(body) // 3
    return Reply.stream([body[:third], body[third:2 * third], body[2 * third:]], "application/json",
                        delay=delay)


def billed_for_its_duration(row) -> None:
    """The row's cost is its latency x the per-second rate (to the millisecond the row keeps), nothing per token."""
    assert row.latency_ms >= 3 * PIECE_DELAY * 1000
    assert RATE * row.latency_ms / 1000 <= row.cost <= RATE * (row.latency_ms + 1) / 1000
    assert row.prompt_tokens > 0  # tokens were counted, and not billed (the model's list price is not used)


def test_a_chat_call_is_billed_its_duration_at_the_per_second_prices(upstream_model, upstream: OpenAIUpstream,
                                                                     http: httpx.Client) -> None:
    upstream_model(litellm_params=PER_SECOND)  # gpt-4o-2024-08-06: listed per-token prices that must not apply
    upstream.reply_with(slow)
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert response.status_code == 200
    [row] = wait_for_spend_rows(1, request_id=response.headers["x-request-id"])
    billed_for_its_duration(row)


def test_embeddings_are_billed_their_duration_at_model_info_per_second_prices(
        upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream_model("embedder", provider_model="text-embedding-3-small",
                   model_info={"mode": "embedding", **PER_SECOND})
    upstream.reply_with(slow)
    response = http.post("/v1/embeddings", json={"model": "embedder", "input": ["a", "b"]})
    assert response.status_code == 200
    [row] = wait_for_spend_rows(1, request_id=response.headers["x-request-id"])
    billed_for_its_duration(row)


def test_a_call_in_flight_reserves_the_deployment_timeout_at_the_per_second_prices(
        upstream_model, upstream: OpenAIUpstream, gateway: GatewayProcess) -> None:
    upstream_model(litellm_params=PER_SECOND, timeout=10)  # reserves 10 s x 0.03 = 0.30 USD, past the key's budget
    _, secret = make_key(None, None, max_budget=0.2)
    upstream.reply_with(partial(slow, delay=1.0))  # the first call holds its reservation for 3 s or more
    with httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as caller, \
            ThreadPoolExecutor(1) as pool:
        first = pool.submit(caller.post, "/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
        deadline = time.monotonic() + 15
        while not upstream.requests:
            assert time.monotonic() < deadline, "the first call never reached the upstream"
            time.sleep(0.02)
        meanwhile = caller.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
        assert first.result().status_code == 200
        after = caller.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert (meanwhile.status_code, meanwhile.json()["error"]["type"]) == (400, "budget_exceeded")
    assert after.status_code == 200  # settled at its duration (about 0.09 USD), the budget has room again
    assert len(upstream.requests) == 2


def test_model_info_cache_read_price_bills_cached_prompt_tokens(upstream_model, upstream: OpenAIUpstream,
                                                                http: httpx.Client) -> None:
    upstream_model(model_info={"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                               "cache_read_input_token_cost": 1e-7})
    upstream.reply_with(Reply.json(200, {
        "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
                  "prompt_tokens_details": {"cached_tokens": 40}}}))
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert response.status_code == 200
    [row] = wait_for_spend_rows(1, request_id=response.headers["x-request-id"])
    # 60 fresh x 1e-6 + 40 cached x 1e-7 + 10 out x 2e-6
    assert (row.cached_tokens, row.cost) == (40, Decimal("0.000084"))
