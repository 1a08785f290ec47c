"""model_info as LiteLLM configs write it: id, mode, base_model, max_tokens / max_input_tokens and prices."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from apps.core.errors import InvalidRequest
from apps.providers.base import ChatCall, EmbeddingCall
from apps.routing.snapshot import DeploymentRecord, build_table
from apps.routing.prices import deployment_price
from tests.routing.helpers import deployment, short, table
from tests.routing.test_router import Script, serve


def row(provider_model: str, *, provider: str = "azure", model_info: dict[str, Any] | None = None,
        litellm_params: dict[str, Any] | None = None, **fields: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "pk": 1, "model_name": "g", "provider": provider, "provider_model": provider_model, "api_base": "",
        "api_key_env": "", "api_key_encrypted": "", "api_version": "", "timeout": None, "weight": 1.0, "rpm": None,
        "tpm": None, "input_cost_per_token": None, "output_cost_per_token": None,
        "litellm_params": litellm_params or {}, "model_info": model_info or {}}
    values.update(fields)
    return SimpleNamespace(**values)


def record(**kwargs: Any) -> DeploymentRecord:
    return build_table([row(**kwargs)], {}).groups["g"][0]


def test_base_model_gives_the_price_and_limits_of_its_price_table_entry() -> None:
    found = record(provider_model="my-gpt4o-deployment", model_info={"base_model": "azure/gpt-4o"})
    assert (found.input_cost_per_token, found.output_cost_per_token) == (Decimal("0.0000025"), Decimal("0.00001"))
    assert found.max_input_tokens == 128000
    price = deployment_price(found)
    assert (price.max_output_tokens, price.cache_read_cost_per_token) == (16384, Decimal("0.00000125"))


def test_a_listed_model_keeps_its_cache_read_price_and_its_own_rate_drops_it() -> None:
    listed = deployment_price(record(provider="openai", provider_model="gpt-4o-mini"))
    assert (listed.input_cost_per_token, listed.cache_read_cost_per_token) == (Decimal("1.5e-7"), Decimal("7.5e-8"))
    own = deployment_price(record(provider="openai", provider_model="gpt-4o-mini", input_cost_per_token=Decimal("1e-6")))
    assert (own.input_cost_per_token, own.cache_read_cost_per_token) == (Decimal("0.000001"), None)


def test_base_model_in_litellm_params_and_without_a_provider_prefix_works_too() -> None:
    found = record(provider_model="my-claude", provider="anthropic",
                   litellm_params={"base_model": "claude-sonnet-4-20250514"})
    assert (found.input_cost_per_token, found.max_input_tokens) == (Decimal("0.000003"), 1000000)
    assert deployment_price(found).max_output_tokens == 64000


def test_without_base_model_an_unknown_deployment_name_has_no_list_price() -> None:
    found = record(provider_model="my-gpt4o-deployment")
    assert (found.input_cost_per_token, found.max_input_tokens) == (None, None)


def test_model_info_prices_and_limits_win_over_the_base_model() -> None:
    found = record(provider_model="dep", model_info={
        "base_model": "azure/gpt-4o", "input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002,
        "max_input_tokens": 5000, "max_tokens": 700})
    price = deployment_price(found)
    assert (price.input_cost_per_token, price.output_cost_per_token) == (Decimal("0.000001"), Decimal("0.000002"))
    assert (found.max_input_tokens, price.max_output_tokens) == (5000, 700)


CHAT = ChatCall(model="g", messages=[{"role": "user", "content": "hi"}])
EMBED = EmbeddingCall(model="g", input=["hi"])


async def test_a_chat_call_is_not_routed_to_an_embedding_deployment_and_vice_versa() -> None:
    t = table({"g": [deployment("chatty", mode="chat"), deployment("vectors", mode="embedding")]})
    for seed in range(6):
        assert short((await serve(t, Script(), call=CHAT, seed=seed)).deployment) == "chatty"
        assert short((await serve(t, Script(), call=EMBED, seed=seed)).deployment) == "vectors"


@pytest.mark.parametrize(("mode", "call", "message"), [
    pytest.param("embedding", CHAT, "The model `g` has model_info.mode embedding and is not served on "
                 "/v1/chat/completions.", id="chat_to_embedding_case"),
    pytest.param("chat", EMBED, "The model `g` has model_info.mode chat and is not served on /v1/embeddings.",
                 id="embedding_to_chat_case"),
])
async def test_a_call_of_the_wrong_mode_is_a_400_naming_it(mode: str, call: ChatCall | EmbeddingCall,
                                                           message: str) -> None:
    script = Script()
    with pytest.raises(InvalidRequest) as caught:
        await serve(table({"g": [deployment("only", mode=mode)]}), script, call=call)
    assert (caught.value.status, caught.value.message, caught.value.error_code) == (400, message, "model_mode_mismatch")
    assert script.calls == []


async def test_completion_mode_and_no_mode_serve_chat_calls() -> None:
    t = table({"g": [deployment("legacy", mode="completion"), deployment("plain")]})
    served = {short((await serve(t, Script(), call=CHAT, seed=seed)).deployment) for seed in range(12)}
    assert served == {"legacy", "plain"}


def test_model_info_cache_prices_are_the_deployments_own() -> None:
    from apps.providers.base import Usage
    from apps.teams.costing import cost

    price = deployment_price(record(provider="anthropic", provider_model="my-claude", model_info={
        "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "cache_read_input_token_cost": 1e-7,
        "cache_creation_input_token_cost": 1.5e-6}))
    assert (price.cache_read_cost_per_token, price.cache_creation_cost_per_token) == (Decimal("1e-7"),
                                                                                       Decimal("0.0000015"))
    # 100 prompt tokens: 40 read from the cache, 20 written to it, 40 fresh; 10 out
    usage = Usage(prompt_tokens=100, completion_tokens=10, cached_tokens=40, cache_creation_tokens=20)
    assert cost(price, usage) == Decimal("0.000040") + Decimal("0.000004") + Decimal("0.000030") + Decimal("0.000020")


def test_per_second_prices_bill_at_most_the_timeout_the_reservation_covers() -> None:
    from apps.providers.base import Usage
    from apps.teams.costing import cost, worst_case_nanos

    price = deployment_price(record(provider="sagemaker", provider_model="endpoint", timeout=30,
                                    litellm_params={"input_cost_per_second": 0.00042}))
    assert (price.per_second, price.max_seconds, price.input_cost_per_token) == (Decimal("0.00042"), 30, 0)
    assert cost(price, Usage(prompt_tokens=5), seconds=2.5) == Decimal("0.00105")
    assert cost(price, Usage(prompt_tokens=5), seconds=90) == Decimal("0.0126")  # 30 s
    assert worst_case_nanos([price], prompt_tokens=1000, completion_tokens=[1000]) == 12_600_000
