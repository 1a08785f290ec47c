from __future__ import annotations

from decimal import Decimal

import pytest

from apps.core import jsonutil
from apps.providers.base import Usage
from apps.providers.pricing import PRICES_PATH, ModelPrice, cost_for, price_for
from apps.providers.registry import ADAPTERS


def test_gpt_4o_list_price() -> None:
    assert price_for("openai", "gpt-4o") == ModelPrice(
        input_cost_per_token=Decimal("0.0000025"), output_cost_per_token=Decimal("0.00001"),
        cache_read_cost_per_token=Decimal("0.00000125"), max_input_tokens=128000, max_output_tokens=16384)


@pytest.mark.parametrize(("provider", "model"), [
    pytest.param("openai", "openai/gpt-4o-mini", id="prefixed_same_provider_case"),
    pytest.param("", "openai/gpt-4o-mini", id="prefixed_no_provider_case"),
    pytest.param("", "gpt-4o-mini", id="bare_no_provider_case"),
    pytest.param("some_proxy", "gpt-4o-mini", id="bare_unknown_provider_case"),
])
def test_lookup_by_bare_and_prefixed_names(provider: str, model: str) -> None:
    price = price_for(provider, model)
    assert price is not None
    assert (price.input_cost_per_token, price.output_cost_per_token) == (Decimal("1.5E-7"), Decimal("6E-7"))


def test_openrouter_model_names_keep_their_vendor_path() -> None:
    price = price_for("openrouter", "anthropic/claude-3.5-sonnet")
    assert price is not None and price.input_cost_per_token == Decimal("0.000003")
    assert price_for("", "openrouter/anthropic/claude-3.5-sonnet") == price


def test_bedrock_cross_region_profile_falls_back_to_base_id() -> None:
    base = price_for("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0")
    assert base is not None
    assert price_for("bedrock", "eu.anthropic.claude-3-5-haiku-20241022-v1:0") == base
    listed = price_for("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert listed is not None and listed.input_cost_per_token == Decimal("0.0000033")


def test_known_provider_does_not_borrow_another_providers_price() -> None:
    assert price_for("groq", "gpt-4o") is None
    assert price_for("anthropic", "no-such-model") is None


def test_self_hosted_models_are_free() -> None:
    price = price_for("ollama", "llama3.2:latest")
    assert price is not None
    assert cost_for(price, Usage(prompt_tokens=1000, completion_tokens=1000)) == Decimal(0)


def test_mock_models_have_a_small_price_for_offline_budgets() -> None:
    price = price_for("", "mock/gpt-4o")
    assert price is not None
    assert cost_for(price, Usage(prompt_tokens=10, completion_tokens=5)) == Decimal("0.00002")


def test_cost_bills_cached_tokens_at_the_cache_read_price() -> None:
    price = price_for("openai", "gpt-4o")
    assert price is not None
    usage = Usage(prompt_tokens=1000, completion_tokens=200, cached_tokens=800)
    # 200 fresh * 2.5e-6 + 800 cached * 1.25e-6 + 200 out * 1e-5
    assert cost_for(price, usage) == Decimal("0.0005") + Decimal("0.001") + Decimal("0.002")
    assert cost_for(price, usage) < cost_for(price, Usage(prompt_tokens=1000, completion_tokens=200))


def test_cost_bills_cache_writes_at_the_write_price() -> None:
    price = price_for("anthropic", "claude-sonnet-4-20250514")
    assert price is not None
    usage = Usage(prompt_tokens=3000, completion_tokens=100, cached_tokens=1000, cache_creation_tokens=1000)
    # 1000 fresh * 3e-6 + 1000 read * 3e-7 + 1000 write * 3.75e-6 + 100 out * 1.5e-5
    assert cost_for(price, usage) == Decimal("0.003") + Decimal("0.0003") + Decimal("0.00375") + Decimal("0.0015")


def test_cached_tokens_without_a_cache_price_bill_at_input_price() -> None:
    price = ModelPrice(input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000002"))
    assert cost_for(price, Usage(prompt_tokens=10, cached_tokens=4, completion_tokens=1)) == Decimal("0.000012")


def test_reasoning_tokens_are_part_of_completion_tokens() -> None:
    price = price_for("openai", "o3-mini")
    assert price is not None
    usage = Usage(prompt_tokens=100, completion_tokens=500, reasoning_tokens=400)
    assert cost_for(price, usage) == Decimal("0.00011") + Decimal("0.0022")


def test_every_row_has_prices_and_every_provider_is_registered() -> None:
    providers = jsonutil.loads(PRICES_PATH.read_bytes())["providers"]
    # Providers served by other adapter modules (anthropic, bedrock, gemini, vertex_ai, cohere) are priced too.
    assert set(providers) - set(ADAPTERS) <= {"anthropic", "bedrock", "gemini", "vertex_ai", "cohere"}
    for provider, models in providers.items():
        for name, row in models.items():
            assert isinstance(row["input_cost_per_token"], float) and row["input_cost_per_token"] >= 0, (provider, name)
            assert isinstance(row["output_cost_per_token"], float) and row["output_cost_per_token"] >= 0, (provider, name)


def test_new_providers_are_priced_from_litellms_table() -> None:
    version = "02e509c789964a7ea8736978a43525956ef40397be9033abf9fd2badfe68c9e3"
    pinned = price_for("replicate", f"meta/llama-2-70b-chat:{version}")
    assert pinned is not None and pinned == price_for("replicate", "meta/llama-2-70b-chat")
    assert (pinned.input_cost_per_token, pinned.output_cost_per_token) == (Decimal("6.5E-7"), Decimal("0.00000275"))
    assert price_for("bedrock", "anthropic.claude-3-haiku-20240307-v1:0") is not None  # a short version suffix stays
    voyage = price_for("voyage", "voyage-3.5")
    assert voyage is not None and voyage.input_cost_per_token == Decimal("6E-8")
    instruct = price_for("text-completion-openai", "gpt-3.5-turbo-instruct")
    assert instruct is not None and (instruct.input_cost_per_token, instruct.output_cost_per_token) == (
        Decimal("0.0000015"), Decimal("0.000002"))
    sagemaker = price_for("sagemaker", "any-endpoint")  # billed by instance hour, not per token
    assert sagemaker is not None and sagemaker.input_cost_per_token == sagemaker.output_cost_per_token == 0
