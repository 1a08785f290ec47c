"""POST /spend/calculate with LiteLLM's bodies, priced from the gateway's deployments and price table."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

MSG = [{"role": "user", "content": "Hey, how's it going?"}]  # 3 + 4 + 5 = 12 prompt tokens as admission counts


def cost(http: httpx.Client, body: dict[str, Any]) -> Any:
    answer = http.post("/spend/calculate", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.usefixtures("example_models")
def test_a_model_group_and_messages_cost_their_prompt(http: httpx.Client) -> None:
    assert cost(http, {"model": "gpt-4o-mini", "messages": MSG}) == {"cost": 1.2e-05}  # mock lists $1 / M input


def test_a_deployments_own_price_wins(http: httpx.Client) -> None:
    made = http.post("/model/new", json={"model_name": "custom-priced", "litellm_params": {
        "model": "mock/gpt-4o-mini", "input_cost_per_token": 0.5, "output_cost_per_token": 1}})
    assert made.status_code == 200, made.text
    assert cost(http, {"model": "custom-priced", "messages": MSG}) == {"cost": 6.0}


def test_a_completion_response_costs_its_usage(http: httpx.Client) -> None:
    response = {"id": "chatcmpl-123", "object": "chat.completion", "model": "gpt-4o-2024-08-06", "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}}
    assert cost(http, {"completion_response": response}) == {"cost": 0.0001425}
    cached = {**response, "usage": {**response["usage"], "prompt_tokens_details": {"cached_tokens": 4}}}
    assert cost(http, {"completion_response": cached}) == {"cost": 0.0001375}  # 4 cache reads at $1.25 / M


@pytest.mark.parametrize(("body", "param", "code"), [
    ({"model": "gpt-4o-mini"}, "messages", "missing_required_parameter"),
    ({}, "model", "missing_required_parameter"),
    ({"model": "no-such-model-anywhere", "messages": MSG}, "model", "model_not_priced"),
    ({"model": "gpt-4o-mini", "messages": MSG, "user": "x"}, "user", "invalid_value"),
    ({"completion_response": {"usage": {}}}, "completion_response.model", "missing_required_parameter"),
], ids=["no_messages_case", "empty_case", "unpriced_case", "unknown_field_case", "no_response_model_case"])
@pytest.mark.usefixtures("example_models")
def test_bad_questions_get_400_naming_the_field(http: httpx.Client, body: dict[str, Any], param: str,
                                                code: str) -> None:
    answer = http.post("/spend/calculate", json=body)
    assert (answer.status_code, answer.json()["error"]["param"], answer.json()["error"]["code"]) == (400, param, code)


def test_spend_calculate_needs_a_key(http: httpx.Client) -> None:
    answer = http.post("/spend/calculate", json={"model": "x", "messages": MSG}, headers={"Authorization": ""})
    assert answer.status_code == 401
