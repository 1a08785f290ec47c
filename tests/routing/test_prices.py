"""Prices and costs without HTTP: a deployment's price is worked out once per snapshot record."""
from __future__ import annotations

from dataclasses import replace
import math
from decimal import Decimal

import pytest

from apps.providers.base import Target, Usage
from apps.routing import prices
from apps.routing.snapshot import DeploymentRecord
from apps.teams import costing


def record(**fields: object) -> DeploymentRecord:
    return DeploymentRecord(id="d1", model_name="group", target=Target(provider="openai", model="gpt-x"),
                            **fields)  # type: ignore[arg-type]


def test_price_from_the_deployment_then_model_info() -> None:
    given = record(input_cost_per_token=Decimal("0.000001"), model_info={"output_cost_per_token": 0.000002,
                                                                           "max_output_tokens": 512})
    price = prices.deployment_price(given)
    assert (price.input_cost_per_token, price.output_cost_per_token, price.max_output_tokens) == (
        Decimal("0.000001"), Decimal("0.000002"), 512)
    assert (price.input_rate, price.output_rate) == (1_000_000_000_000, 2_000_000_000_000)
    assert costing.usage_cost_nanos(price, Usage(prompt_tokens=10, completion_tokens=5)) == 20_000


def test_price_is_kept_per_record_and_a_changed_record_gets_its_own() -> None:
    first = record(input_cost_per_token=Decimal("0.000001"))
    assert prices.deployment_price(first) is prices.deployment_price(first)
    changed = replace(first, input_cost_per_token=Decimal("0.000003"))
    assert prices.deployment_price(changed).input_cost_per_token == Decimal("0.000003")
    assert prices.deployment_price(first).input_cost_per_token == Decimal("0.000001")


def test_the_kept_prices_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(prices, "PRICES_KEPT", 3)
    monkeypatch.setattr(prices, "_prices", {})
    records = [record(input_cost_per_token=Decimal(n)) for n in range(10)]
    for index, each in enumerate(records):
        assert prices.deployment_price(each).input_cost_per_token == Decimal(index)
        assert len(prices._prices) <= 3


@pytest.mark.parametrize(("price_in", "price_out", "prompt", "completion"), [
    ("0.00000015", "0.0000006", 1234, 4096),  # whole nanodollars per token
    ("0.0000000375", "0.00000015", 3, 1),  # fractions of a nanodollar per token: rounded up, never down
    ("0", "0.001", 0, 5),
])
def test_the_worst_case_is_the_dearest_deployments_exact_cost_rounded_up(price_in: str, price_out: str,
                                                                        prompt: int, completion: int) -> None:
    cheap = record(input_cost_per_token=Decimal(0), output_cost_per_token=Decimal(0))
    dear = record(input_cost_per_token=Decimal(price_in), output_cost_per_token=Decimal(price_out))
    exact = (Decimal(price_in) * prompt + Decimal(price_out) * completion) * 1_000_000_000
    assert costing.worst_case_nanos([prices.deployment_price(cheap), prices.deployment_price(dear)],
                                    prompt_tokens=prompt, completion_tokens=[completion, completion]) == math.ceil(exact)
