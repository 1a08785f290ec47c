"""Each strategy's choice, with a seeded random source so every run draws the same."""
from __future__ import annotations

import random
from collections import Counter

from apps.routing.policy import RouterPolicy
from apps.routing.strategies import STRATEGIES, CallShape, DeploymentStats
from tests.routing.helpers import deployment, short

POLICY = RouterPolicy()


def draws(strategy: str, candidates, *, stats=None, shape=CallShape(), policy=POLICY, seed=7, n=1000) -> Counter:
    rng = random.Random(seed)
    choose = STRATEGIES[strategy]
    return Counter(short(choose(candidates, stats=stats or {}, shape=shape, policy=policy, rng=rng)) for _ in range(n))


def test_shuffle_draws_by_weight() -> None:
    picks = draws("simple-shuffle", [deployment("a", weight=1.0, weight_set=True),
                                     deployment("b", weight=3.0, weight_set=True)], n=4000)
    assert set(picks) == {"a", "b"}
    assert 2850 <= picks["b"] <= 3150


def test_shuffle_draws_by_rpm_when_no_weight_is_set() -> None:
    picks = draws("simple-shuffle", [deployment("a", rpm=100), deployment("b", rpm=900)], n=2000)
    assert 1700 <= picks["b"] <= 1900


def test_shuffle_never_draws_a_zero_weight() -> None:
    picks = draws("simple-shuffle", [deployment("a", weight=0.0, weight_set=True),
                                     deployment("b", weight=2.0, weight_set=True)])
    assert picks == Counter({"b": 1000})


def test_same_seed_same_choices() -> None:
    candidates = [deployment("a"), deployment("b"), deployment("c")]

    def run(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [STRATEGIES["simple-shuffle"](candidates, stats={}, shape=CallShape(), policy=POLICY, rng=rng).id
                for _ in range(50)]

    assert run(11) == run(11)
    assert run(11) != run(12)
    assert len(set(run(11))) == 3


def test_least_busy_picks_fewest_in_flight_and_splits_ties() -> None:
    a, b, c = deployment("a"), deployment("b"), deployment("c")
    stats = {a.id: DeploymentStats(in_flight=3), b.id: DeploymentStats(in_flight=1), c.id: DeploymentStats(in_flight=1)}
    picks = draws("least-busy", [a, b, c], stats=stats)
    assert set(picks) == {"b", "c"}
    assert 400 <= picks["b"] <= 600


def test_latency_picks_among_the_nearly_fastest() -> None:
    a, b, c = deployment("a"), deployment("b"), deployment("c")
    stats = {a.id: DeploymentStats(latency_per_token=0.010), b.id: DeploymentStats(latency_per_token=0.0105),
             c.id: DeploymentStats(latency_per_token=0.050)}
    picks = draws("latency-based", [a, b, c], stats=stats)
    assert set(picks) == {"a", "b"}


def test_latency_without_buffer_always_picks_the_fastest() -> None:
    a, b = deployment("a"), deployment("b")
    stats = {a.id: DeploymentStats(latency_per_token=0.010), b.id: DeploymentStats(latency_per_token=0.0105)}
    assert draws("latency-based", [a, b], stats=stats, policy=RouterPolicy(latency_buffer=0)) == Counter({"a": 1000})


def test_latency_uses_time_to_first_token_for_streams() -> None:
    a, b = deployment("a"), deployment("b")
    stats = {a.id: DeploymentStats(latency_per_token=0.01, time_to_first_token=2.0),
             b.id: DeploymentStats(latency_per_token=0.05, time_to_first_token=0.3)}
    assert draws("latency-based", [a, b], stats=stats, shape=CallShape(stream=True)) == Counter({"b": 1000})
    assert draws("latency-based", [a, b], stats=stats, shape=CallShape(stream=False)) == Counter({"a": 1000})


def test_latency_tries_a_deployment_without_samples() -> None:
    a, b = deployment("a"), deployment("b")
    stats = {a.id: DeploymentStats(latency_per_token=0.01)}
    assert draws("latency-based", [a, b], stats=stats) == Counter({"b": 1000})


def test_cost_picks_cheapest_for_the_expected_tokens() -> None:
    # a: cheap prompt, dear completion; b: the reverse. Long prompts favour a, long answers favour b.
    a = deployment("a", price=("0.000001", "0.00003"))
    b = deployment("b", price=("0.00001", "0.000002"))
    assert draws("cost-based", [a, b], shape=CallShape(prompt_tokens=5000, max_completion_tokens=10)) == \
        Counter({"a": 1000})
    assert draws("cost-based", [a, b], shape=CallShape(prompt_tokens=10, max_completion_tokens=5000)) == \
        Counter({"b": 1000})


def test_cost_puts_unpriced_deployments_last() -> None:
    a, b = deployment("a"), deployment("b", price=("0.01", "0.01"))
    assert draws("cost-based", [a, b], shape=CallShape(prompt_tokens=10)) == Counter({"b": 1000})


def test_usage_picks_most_headroom() -> None:
    a, b = deployment("a", rpm=10), deployment("b", tpm=1000)
    stats = {a.id: DeploymentStats(requests_this_minute=8), b.id: DeploymentStats(tokens_this_minute=500)}
    # a has 1 - 9/10 = 10% left, b has 1 - 510/1000 = 49% left.
    assert draws("usage-based", [a, b], stats=stats, shape=CallShape(prompt_tokens=10)) == Counter({"b": 1000})


def test_usage_breaks_ties_by_tokens_used() -> None:
    a, b = deployment("a"), deployment("b")
    stats = {a.id: DeploymentStats(tokens_this_minute=900), b.id: DeploymentStats(tokens_this_minute=100)}
    assert draws("usage-based", [a, b], stats=stats) == Counter({"b": 1000})


def test_cost_with_no_prices_at_all_draws_among_every_deployment() -> None:
    assert set(draws("cost-based", [deployment("a"), deployment("b")])) == {"a", "b"}
