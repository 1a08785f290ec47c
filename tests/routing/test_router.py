"""The router's decisions with scripted attempts: retry budget, backoff, cooldowns, fallbacks, limits, names."""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest

from apps.core.state import state
from apps.providers.base import ChatCall, UpstreamError
from apps.routing.parsing import CallOptions
from apps.routing.router import NoDeploymentAvailable, route
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from tests.routing.helpers import deployment, short, table

OK = CallOptions()


def fail(status: int, *, code: str | None = None, retry_after: float | None = None) -> UpstreamError:
    return UpstreamError(f"upstream says {status}", status=status, code=code, retry_after=retry_after)


class Script:
    """An attempt function: per deployment name, a list of errors to raise before answering."""

    def __init__(self, **failures: list[UpstreamError] | UpstreamError) -> None:
        self.failures = failures
        self.calls: list[str] = []

    async def __call__(self, record: DeploymentRecord) -> str:
        name = short(record)
        self.calls.append(name)
        planned = self.failures.get(name)
        if isinstance(planned, UpstreamError):
            raise planned
        if planned:
            raise planned.pop(0)
        return f"answer from {name}"


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def serve(t: RoutingTable, script: Script, model: str = "g", options: CallOptions = OK,
                sleeps: Sleeps | None = None, seed: int = 1, call: ChatCall | None = None):
    return await route(t, model, options, script, call=call, rng=random.Random(seed), sleep=Sleeps() if sleeps is None else sleeps)


async def test_one_retry_budget_spans_deployments_and_fallbacks() -> None:
    t = table({"g": [deployment("a"), deployment("b")], "f": [deployment("c")]},
              num_retries=2, fallbacks=[{"g": ["f"]}], allowed_fails=100)
    script = Script(a=fail(500), b=fail(500), c=fail(500))
    with pytest.raises(UpstreamError) as caught:
        await serve(t, script)
    # 1 try + 2 retries in g, then the fallback's first try; no retries are left for it.
    assert len(script.calls) == 4 and script.calls[-1] == "c"
    assert caught.value.headers["x-should-retry"] == "false"


async def test_a_retry_moves_to_another_deployment_without_waiting() -> None:
    t = table({"g": [deployment("a", price=("0.1", "0.1")), deployment("b", price=("0.2", "0.2"))]}, num_retries=1,
              routing_strategy="cost-based")
    sleeps = Sleeps()
    served = await serve(t, Script(a=fail(503)), sleeps=sleeps)
    assert (served.value, served.attempts, served.fallback_depth) == ("answer from b", 2, 0)
    assert sleeps == []


async def test_bad_requests_and_bad_keys_are_never_retried() -> None:
    for status in (400, 401):
        t = table({"g": [deployment("a"), deployment("b")]}, num_retries=3, fallbacks=["f"])
        script = Script(a=fail(status), b=fail(status))
        with pytest.raises(UpstreamError):
            await serve(t, script)
        assert len(script.calls) == 1


async def test_per_request_num_retries_overrides_the_router() -> None:
    t = table({"g": [deployment("a"), deployment("b")]}, num_retries=0, allowed_fails=100)
    script = Script(a=[fail(500)], b=[fail(500)])
    served = await serve(t, script, options=CallOptions(num_retries=2))
    assert served.attempts == 3


async def test_backoff_honours_upstream_retry_after() -> None:
    t = table({"g": [deployment("a")]}, num_retries=2)
    sleeps = Sleeps()
    served = await serve(t, Script(a=[fail(503, retry_after=2.0)]), sleeps=sleeps)
    assert served.attempts == 2 and sleeps == [2.0]


async def test_backoff_is_exponential_with_jitter() -> None:
    t = table({"g": [deployment("a")]}, num_retries=3, retry_backoff_base=0.5)
    sleeps = Sleeps()
    served = await serve(t, Script(a=[fail(500), fail(500), fail(500)]), sleeps=sleeps)
    assert served.attempts == 4
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0 and 1.0 <= sleeps[2] <= 2.0


async def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    t = table({"g": [deployment("a")]}, num_retries=2, max_retry_wait=10)
    sleeps = Sleeps()
    with pytest.raises(UpstreamError):
        await serve(t, Script(a=[fail(503, retry_after=120)]), sleeps=sleeps)
    assert sleeps == []


async def test_rate_limit_cools_a_deployment_for_every_later_call() -> None:
    a, b = deployment("a", price=("0.1", "0.1")), deployment("b", price=("0.2", "0.2"))
    t = table({"g": [a, b]}, num_retries=1, routing_strategy="cost-based", cooldown_time=30)
    script = Script(a=[fail(429)])
    before = time.time()
    await serve(t, script)
    cooling = await state().cooldowns([a.id, b.id])
    assert list(cooling) == [a.id]
    assert before + 30 <= cooling[a.id] <= time.time() + 30
    await serve(t, script)
    assert script.calls == ["a", "b", "b"]


async def test_allowed_fails_within_a_minute_cool_a_deployment() -> None:
    a, b = deployment("a", price=("0.1", "0.1")), deployment("b", price=("0.2", "0.2"))
    t = table({"g": [a, b]}, num_retries=1, routing_strategy="cost-based", allowed_fails=2)
    script = Script(a=[fail(500), fail(500)])
    await serve(t, script)
    assert await state().cooldowns([a.id]) == {}
    await serve(t, script)
    assert list(await state().cooldowns([a.id])) == [a.id]
    await serve(t, script)
    assert script.calls == ["a", "b", "a", "b", "b"]


async def test_recooling_extends_the_deadline() -> None:
    name = deployment("x").id
    first = await state().cooldown_start(name, 5)
    assert await state().cooldown_start(name, 1) == first  # an earlier deadline never shortens it
    later = await state().cooldown_start(name, 20)
    assert later >= first + 14
    assert (await state().cooldowns([name]))[name] == later


async def test_the_only_deployment_is_never_cooled() -> None:
    a = deployment("a")
    t = table({"g": [a]}, num_retries=0)
    with pytest.raises(UpstreamError):
        await serve(t, Script(a=fail(429)))
    assert await state().cooldowns([a.id]) == {}


async def test_every_deployment_cooling_is_a_429_with_retry_after() -> None:
    a, b = deployment("a"), deployment("b")
    t = table({"g": [a, b]})
    await state().cooldown_start(a.id, 10)
    await state().cooldown_start(b.id, 20)
    with pytest.raises(NoDeploymentAvailable) as caught:
        await serve(t, Script())
    assert caught.value.status == 429
    # The earlier cooldown ends first: the 429 says when that is (10s, less however long this test took).
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 10


async def steady_minute() -> None:
    """Usage counts per wall-clock minute: start well inside one so the test does not straddle two."""
    if time.time() % 60 > 58:
        await asyncio.sleep(60 - time.time() % 60 + 0.05)


async def test_deployments_over_their_rpm_are_skipped_then_429() -> None:
    await steady_minute()
    t = table({"g": [deployment("a", rpm=1), deployment("b", rpm=1)]})
    script = Script()
    await serve(t, script)
    await serve(t, script)
    assert sorted(script.calls) == ["a", "b"]
    with pytest.raises(NoDeploymentAvailable) as caught:
        await serve(t, script)
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60


async def test_deployments_over_their_tpm_are_skipped() -> None:
    a, b = deployment("a", tpm=10, price=("0.1", "0.1")), deployment("b", price=("0.2", "0.2"))
    t = table({"g": [a, b]}, routing_strategy="cost-based")
    await steady_minute()
    call = ChatCall(model="g", messages=[{"role": "user", "content": "x" * 80}])
    script = Script()
    await serve(t, script, call=call)
    await serve(t, script, call=call)
    assert script.calls == ["a", "b"]


@pytest.mark.parametrize(("setting", "error"), [
    pytest.param("context_window_fallbacks", fail(400, code="context_length_exceeded"), id="context_window_case"),
    pytest.param("content_policy_fallbacks", fail(400, code="content_policy_violation"), id="content_policy_case"),
])
async def test_special_failures_use_their_own_fallbacks(setting: str, error: UpstreamError) -> None:
    t = table({"g": [deployment("a")], "big": [deployment("c")], "other": [deployment("d")]},
              fallbacks=[{"g": ["other"]}], **{setting: [{"g": ["big"]}]})
    served = await serve(t, Script(a=error))
    assert (served.value, served.fallback_depth, served.model_group) == ("answer from c", 1, "big")


async def test_generic_fallbacks_in_list_form_apply_to_every_group() -> None:
    t = table({"g": [deployment("a")], "spare": [deployment("s")]}, num_retries=0, fallbacks=["spare"])
    served = await serve(t, Script(a=fail(502)))
    assert (served.value, served.fallback_depth) == ("answer from s", 1)


async def test_per_request_fallbacks_replace_the_router_ones() -> None:
    t = table({"g": [deployment("a")], "r": [deployment("r")], "q": [deployment("q")]}, num_retries=0,
              fallbacks=[{"g": ["r"]}])
    served = await serve(t, Script(a=fail(502)), options=CallOptions(fallbacks=("q",)))
    assert served.value == "answer from q"
    with pytest.raises(UpstreamError):
        await serve(t, Script(a=fail(502)), options=CallOptions(fallbacks=()))


async def test_fallbacks_stop_at_max_fallbacks() -> None:
    t = table({"g": [deployment("a")], "f1": [deployment("b")], "f2": [deployment("c")]}, num_retries=0,
              max_fallbacks=1, fallbacks=[{"g": ["f1", "f2"]}])
    script = Script(a=fail(500), b=fail(500))
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a", "b"]


async def test_pre_call_checks_skip_deployments_too_small_for_the_prompt() -> None:
    small, large = deployment("small", max_input_tokens=50), deployment("large", max_input_tokens=10_000)
    call = ChatCall(model="g", messages=[{"role": "user", "content": "word " * 100}])
    t = table({"g": [small, large]}, enable_pre_call_checks=True)
    for seed in range(10):
        assert (await serve(t, Script(), call=call, seed=seed)).value == "answer from large"


async def test_a_prompt_no_deployment_holds_goes_to_context_window_fallbacks() -> None:
    call = ChatCall(model="g", messages=[{"role": "user", "content": "word " * 100}])
    t = table({"g": [deployment("small", max_input_tokens=50)], "big": [deployment("big")]},
              enable_pre_call_checks=True, context_window_fallbacks=[{"g": ["big"]}])
    script = Script()
    served = await serve(t, script, call=call)
    assert script.calls == ["big"] and served.fallback_depth == 1


def names(t: RoutingTable) -> Callable[[str], list[tuple[str, str]]]:
    return lambda model: [(short(d), d.target.model) for d in t.deployments(model)]


def test_wildcard_groups_call_the_requested_model() -> None:
    t = table({"anthropic/*": [deployment("w", model="*")], "*": [deployment("any", model="*")],
               "exact": [deployment("e", model="pinned")]})
    assert names(t)("anthropic/claude-x") == [("w", "claude-x")]
    assert names(t)("llama-3") == [("any", "llama-3")]
    assert names(t)("exact") == [("e", "pinned")]


def test_aliases_resolve_and_hidden_ones_are_not_listed() -> None:
    t = table({"gpt-4o": [deployment("a")]}, model_group_alias={"gpt4": "gpt-4o", "secret": {"model": "gpt-4o",
                                                                                             "hidden": True}})
    assert names(t)("gpt4") == names(t)("gpt-4o") == names(t)("secret")
    assert t.model_names == ["gpt-4o", "gpt4"]
