"""LiteLLM's per-error router policies and deployment order, with scripted attempts: retry_policy (both forms),
model_group_retry_policy, allowed_fails_policy and litellm_params.order."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.core.state import state
from apps.providers.base import UpstreamError
from apps.routing.error_kinds import error_kind
from apps.routing.policy import policy_from_settings
from apps.routing.router import lowest_order
from apps.routing.snapshot import load_routing_table
from tests.routing.helpers import deployment, short, table
from tests.routing.test_router import Script, fail, serve

TIMEOUT = UpstreamError("timed out", status=408, error_type="timeout", code="timeout")


def test_retry_policy_in_the_num_retries_form_sets_the_retries() -> None:
    policy, problems = policy_from_settings({"num_retries": 0, "retry_policy": {"num_retries": 3}})
    assert (problems, policy.num_retries, policy.retry_policy) == ([], 3, {})


def test_retry_policy_counts_are_read_per_error_kind() -> None:
    policy, problems = policy_from_settings({"retry_policy": {
        "BadRequestErrorRetries": 1, "TimeoutErrorRetries": 2, "RateLimitErrorRetries": 3,
        "ContentPolicyViolationErrorRetries": 4, "AuthenticationErrorRetries": 5, "InternalServerErrorRetries": 6}})
    assert problems == []
    assert policy.retry_policy == {"BadRequestError": 1, "TimeoutError": 2, "RateLimitError": 3,
                                   "ContentPolicyViolationError": 4, "AuthenticationError": 5, "InternalServerError": 6}


@pytest.mark.parametrize(("settings", "message"), [
    pytest.param({"retry_policy": {"RateLimitRetries": 1}}, "retry_policy.RateLimitRetries is not one of "
                 "BadRequestErrorRetries, AuthenticationErrorRetries, TimeoutErrorRetries, RateLimitErrorRetries, "
                 "ContentPolicyViolationErrorRetries, InternalServerErrorRetries", id="unknown_kind_case"),
    pytest.param({"retry_policy": {"TimeoutErrorRetries": "x"}}, "retry_policy.TimeoutErrorRetries must be a number, "
                 "got 'x'", id="bad_count_case"),
    pytest.param({"allowed_fails_policy": [1]}, "allowed_fails_policy must be a mapping like "
                 "{RateLimitErrorAllowedFails: 3}, got [1]", id="bad_allowed_fails_case"),
    pytest.param({"model_group_retry_policy": {"g": {"TimeoutErrorAllowedFails": 1}}},
                 "model_group_retry_policy.g.TimeoutErrorAllowedFails is not one of", id="wrong_suffix_case"),
])
def test_bad_policies_are_named(settings: dict[str, object], message: str) -> None:
    _, problems = policy_from_settings(settings)
    assert len(problems) == 1 and problems[0][1].startswith(message)


async def test_a_per_error_count_replaces_num_retries_for_that_error() -> None:
    t = table({"g": [deployment("a")]}, num_retries=1, retry_policy={"RateLimitErrorRetries": 3})
    script = Script(a=[fail(429)] * 3)
    served = await serve(t, script)
    assert (served.value, script.calls) == ("answer from a", ["a"] * 4)
    script = Script(a=[fail(500)] * 2)  # a kind the policy does not name keeps num_retries
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a", "a"]


async def test_a_per_error_count_retries_an_error_not_retried_by_default() -> None:
    t = table({"g": [deployment("a")]}, num_retries=3, retry_policy={"BadRequestErrorRetries": 1})
    script = Script(a=[fail(400), fail(400)])
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a", "a"]


async def test_a_zero_count_stops_retries_of_that_kind() -> None:
    t = table({"g": [deployment("a"), deployment("b")]}, num_retries=3, retry_policy={"TimeoutErrorRetries": 0},
              allowed_fails=100)
    script = Script(a=TIMEOUT, b=TIMEOUT)
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert len(script.calls) == 1


async def test_model_group_retry_policy_wins_for_its_group() -> None:
    t = table({"g": [deployment("a")], "h": [deployment("b")]}, retry_policy={"InternalServerErrorRetries": 0},
              model_group_retry_policy={"g": {"InternalServerErrorRetries": 2}})
    script = Script(a=[fail(500), fail(500)], b=[fail(500)])
    assert (await serve(t, script, model="g")).value == "answer from a"
    with pytest.raises(UpstreamError):
        await serve(t, script, model="h")
    assert script.calls == ["a", "a", "a", "b"]


async def test_allowed_fails_policy_cools_a_deployment_after_that_many_fails_of_its_kind() -> None:
    first, second = deployment("a", price=("0.1", "0.1")), deployment("b", price=("0.2", "0.2"))
    t = table({"g": [first, second]}, routing_strategy="cost-based", num_retries=1, allowed_fails=100,
              cooldown_time=60, allowed_fails_policy={"TimeoutErrorAllowedFails": 2})
    script = Script(a=TIMEOUT)
    for _ in range(3):
        assert (await serve(t, script)).value == "answer from b"
    assert (await state().cooldowns([first.id])).keys() == {first.id}  # the third timeout cooled it
    await serve(t, script)
    assert script.calls == ["a", "b", "a", "b", "a", "b", "b"]


async def test_allowed_fails_policy_overrides_the_immediate_cooldown_of_a_429() -> None:
    first, second = deployment("a", price=("0.1", "0.1")), deployment("b", price=("0.2", "0.2"))
    t = table({"g": [first, second]}, routing_strategy="cost-based", num_retries=1, cooldown_time=60,
              allowed_fails_policy={"RateLimitErrorAllowedFails": 1})
    script = Script(a=fail(429))
    await serve(t, script)
    assert await state().cooldowns([first.id]) == {}
    await serve(t, script)
    assert (await state().cooldowns([first.id])).keys() == {first.id}


async def test_lower_order_is_tried_first_and_the_next_order_on_a_retry() -> None:
    records = [deployment("backup", order=2), deployment("main", order=1), deployment("other", order=2)]
    t = table({"g": records}, num_retries=1, allowed_fails=100)
    for seed in range(5):
        script = Script(main=fail(500))
        served = await serve(t, script, seed=seed)
        assert script.calls[0] == "main" and short(served.deployment) in ("backup", "other")


def test_without_orders_every_deployment_is_a_candidate_and_unordered_ones_wait() -> None:
    plain = [deployment("a"), deployment("b")]
    assert lowest_order(plain) == plain
    mixed = [deployment("a"), deployment("b", order=3)]
    assert [short(d) for d in lowest_order(mixed)] == ["b"]  # as LiteLLM filters: the lowest order only


def test_a_group_policy_in_the_num_retries_form_covers_only_errors_retried_by_default() -> None:
    policy, problems = policy_from_settings({"model_group_retry_policy": {
        "g": {"num_retries": 4, "BadRequestErrorRetries": 1}}})
    assert problems == []
    assert policy.model_group_retry_policy == {"g": {
        "TimeoutError": 4, "RateLimitError": 4, "InternalServerError": 4, "BadRequestError": 1}}


async def test_a_deployment_num_retries_replaces_the_routers_when_it_fails() -> None:
    t = table({"g": [deployment("a", num_retries=3)]}, num_retries=0)
    script = Script(a=[fail(500)] * 3)
    assert (await serve(t, script)).value == "answer from a" and script.calls == ["a"] * 4
    t = table({"g": [deployment("a", num_retries=3)]}, num_retries=0, retry_policy={"InternalServerErrorRetries": 1})
    script = Script(a=[fail(500)] * 3)  # retry_policy ranks above the deployment's count
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a", "a"]


async def test_authentication_error_retries_retry_a_401() -> None:
    t = table({"g": [deployment("a")]}, num_retries=0, retry_policy={"AuthenticationErrorRetries": 2},
              allowed_fails=100)
    script = Script(a=[fail(401)] * 2)
    assert (await serve(t, script)).value == "answer from a" and script.calls == ["a"] * 3
    script = Script(a=[fail(401)] * 3)
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a"] * 3


async def test_content_policy_retries_are_counted_apart_from_bad_requests() -> None:
    t = table({"g": [deployment("a")]}, num_retries=3, allowed_fails=100,
              retry_policy={"ContentPolicyViolationErrorRetries": 1, "BadRequestErrorRetries": 0})
    script = Script(a=[fail(400, code="content_policy_violation")] * 2)
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a", "a"]
    script = Script(a=[fail(400)] * 2)  # a plain 400 gets BadRequestErrorRetries: none
    with pytest.raises(UpstreamError):
        await serve(t, script)
    assert script.calls == ["a"]


@pytest.mark.parametrize(("error", "kind"), [
    pytest.param(fail(400, code="content_policy_violation"), "ContentPolicyViolationError", id="content_policy_case"),
    pytest.param(fail(408), "TimeoutError", id="timeout_status_case"),
    pytest.param(UpstreamError("slow", status=504, code="timeout"), "TimeoutError", id="timeout_code_case"),
    pytest.param(fail(401), "AuthenticationError", id="auth_case"),
    pytest.param(fail(429), "RateLimitError", id="rate_limit_case"),
    pytest.param(fail(500), "InternalServerError", id="server_error_case"),
    pytest.param(fail(503), "InternalServerError", id="unavailable_case"),
    pytest.param(fail(400), "BadRequestError", id="bad_request_case"),
    pytest.param(fail(413), "BadRequestError", id="too_large_case"),
    pytest.param(fail(422), "BadRequestError", id="unprocessable_case"),
    pytest.param(fail(403), None, id="forbidden_case"),
    pytest.param(fail(404), None, id="not_found_case"),
])
def test_each_upstream_failure_maps_to_litellms_exception_class(error: UpstreamError, kind: str | None) -> None:
    assert error_kind(error) == kind


ORDERED = """
model_list:
  - model_name: g
    litellm_params: {model: mock/backup, order: 2}
  - model_name: g
    litellm_params: {model: mock/main, order: 1, num_retries: 2}
router_settings: {num_retries: 0, allowed_fails: 100}
"""


@pytest.mark.django_db
def test_order_and_num_retries_from_a_config_file_reach_the_router(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(ORDERED)
    call_command("load_config", str(path))
    t = load_routing_table()
    records = {record.target.model: record for record in t.groups["g"]}
    assert [(records[m].order, records[m].num_retries) for m in ("main", "backup")] == [(1, 2), (2, None)]
    main, backup = short(records["main"]), short(records["backup"])
    script = Script(**{main: fail(500)})  # main's own num_retries (the router has none) moves the call on
    served = asyncio.run(serve(t, script))
    assert (short(served.deployment), script.calls) == (backup, [main, backup])
    script = Script(**{main: fail(500), backup: fail(500)})
    with pytest.raises(UpstreamError):
        asyncio.run(serve(t, script))
    assert script.calls == [main, backup]  # backup has no num_retries of its own: the router's 0 ends the call
