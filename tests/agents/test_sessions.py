"""Agent sessions: every model and sub-agent call an agent makes is admitted and settled against the caller's key
(a budget runs out in the middle of a session and the task fails, parallel turns never spend past it), agents
call agents (in code and as a hosted agent's tools), rate limits hold, and each agent call is logged as a spend
row of its own."""
from __future__ import annotations

import concurrent.futures
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.teams.models import SpendLog
from tests.agents.conftest import hosted, rpc
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream

MOCK = "This is a mock response to:"
CALL_COST = Decimal("0.011")  # priced-gpt's answer to one word: (1 + 3) prompt + 7 completion tokens x 0.001


def send(gateway: GatewayProcess, agent: str, text: str, *, key: str = MASTER_KEY) -> httpx.Response:
    return httpx.post(f"{gateway.url}/a2a/{agent}", headers={"Authorization": f"Bearer {key}", "A2A-Version": "1.0"},
                      json=rpc("SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                           "parts": [{"text": text}]}}), timeout=60)


def task_of(answer: httpx.Response) -> dict[str, Any]:
    assert "result" in answer.json(), answer.text
    return dict(answer.json()["result"]["task"])


def status_text(task: dict[str, Any]) -> str:
    return str(task["status"]["message"]["parts"][0]["text"])


def answer_text(task: dict[str, Any]) -> str:
    return str(task["artifacts"][0]["parts"][0]["text"])


def test_budget_runs_out_in_the_middle_of_a_session(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    key, secret = make_key(None, None, key_alias="thrifty", max_budget=Decimal("0.03"))
    task = task_of(send(agent_gateway, "busy_agent", "a b c d e f", key=secret))
    assert task["status"]["state"] == "TASK_STATE_FAILED"
    assert status_text(task).startswith("Budget has been exceeded! Key=thrifty")
    made = len(models.requests)
    assert 1 <= made < 6  # the session's first calls ran, the one past the budget was never sent
    rows = wait_for_spend_rows(made + 1, key_id=key.pk)
    chat = [row for row in rows if row.call_type == "chat"]
    assert [row.status for row in chat] == ["success"] * made
    # Reserve-then-settle: spend passes the budget only by the one call admitted with less left than its worst case.
    assert sum(row.cost for row in chat) == CALL_COST * made <= Decimal("0.03") + CALL_COST
    [agent_row] = [row for row in rows if row.call_type == "a2a"]
    assert (agent_row.model_alias, agent_row.provider, agent_row.status) == ("a2a/busy_agent", "a2a", "failure")


def test_parallel_turns_never_spend_past_the_budget(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    budget = Decimal("0.05")
    key, secret = make_key(None, None, key_alias="parallel", max_budget=budget)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = [f.result().json() for f in [pool.submit(send, agent_gateway, "busy_agent", "x y z", key=secret)
                                                for _ in range(8)]]
    tasks = [answer["result"]["task"] for answer in answers if "result" in answer]
    refused = [answer["error"] for answer in answers if "error" in answer]  # the budget was gone before they began
    assert all(error["code"] == -32013 for error in refused)
    # 8 turns x 3 calls x 0.011 is far past 0.05: some turn failed mid-way or was refused outright
    assert refused or "TASK_STATE_FAILED" in {task["status"]["state"] for task in tasks}
    made = len(models.requests)
    rows = wait_for_spend_rows(made + len(tasks), key_id=key.pk)
    spent = sum(row.cost for row in rows)
    assert spent == CALL_COST * made <= budget + CALL_COST


def test_an_in_code_agent_calls_another_agent_under_the_same_key(agent_gateway: GatewayProcess,
                                                                 models: OpenAIUpstream) -> None:
    key, secret = make_key(None, None, key_alias="delegator")
    task = task_of(send(agent_gateway, "manager_agent", "research_agent: what is A2A", key=secret))
    assert answer_text(task) == f"research_agent answered: {MOCK} what is A2A"
    rows = wait_for_spend_rows(3, key_id=key.pk)
    assert sorted((row.call_type, row.model_alias) for row in rows) == [
        ("a2a", "a2a/manager_agent"), ("a2a", "a2a/research_agent"), ("chat", "gpt-4o")]


def test_a_hosted_agent_uses_another_agent_as_its_tool(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("planner", prompt="Plan with your tools.", tools=["research_agent"])
    task = task_of(send(agent_gateway, "planner", "plan a trip"))
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert answer_text(task) == f"{MOCK} plan a trip"
    first, research, last = [request.json() for request in models.requests]
    assert first["messages"] == [{"role": "system", "content": "Plan with your tools."},
                                 {"role": "user", "content": "plan a trip"}]
    assert [tool["function"]["name"] for tool in first["tools"]] == ["research_agent"]
    assert research["messages"][-1] == {"role": "user", "content": "mock"}  # the query the model asked for
    assert last["messages"][-1] == {"role": "tool", "tool_call_id": "call_mock0", "content": f"{MOCK} mock"}


def test_an_agent_rpm_limit_holds_across_callers(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("limited", rpm_limit=1)
    assert task_of(send(agent_gateway, "limited", "one"))["status"]["state"] == "TASK_STATE_COMPLETED"
    _, other = make_key(None, None, key_alias="other-caller")
    refused = send(agent_gateway, "limited", "two", key=other)
    assert refused.json()["error"]["code"] == -32012
    assert refused.json()["error"]["message"] == "Rate limit reached for agent limited: rpm_limit 1."
    assert 0 < int(refused.headers["retry-after"]) <= 60


@pytest.mark.parametrize(("agent", "query"), [("research_agent", "first"), ("manager_agent", "research_agent: hi")],
                         ids=["model_call_case", "sub_agent_case"])
def test_the_key_rate_limit_counts_an_agent_session_once(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                         agent: str, query: str) -> None:
    key, secret = make_key(None, None, key_alias="slow-key", rpm_limit=1, max_parallel_requests=1)
    task = task_of(send(agent_gateway, agent, query, key=secret))
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"  # its model (and sub-agent) calls are inside it
    assert len(models.requests) == 1
    refused = send(agent_gateway, agent, "second", key=secret)
    assert refused.json()["error"]["code"] == -32012
    assert "Key=slow-key" in refused.json()["error"]["message"]


def test_a_remote_agents_cost_per_query_is_charged(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("priced-agent", cost_per_query=0.25)
    key, secret = make_key(None, None, key_alias="payer")
    assert task_of(send(agent_gateway, "priced-agent", "hi", key=secret))["status"]["state"] == "TASK_STATE_COMPLETED"
    rows = wait_for_spend_rows(2, key_id=key.pk)
    assert sorted(row.call_type for row in rows) == ["a2a", "chat"]
    assert [row.cost for row in rows if row.call_type == "a2a"] == [Decimal("0.25")]


@pytest.mark.parametrize(("permission", "visible"), [
    ({"agents": ["research_agent"]}, ["research_agent"]),
    ({}, ["busy_agent", "manager_agent", "research_agent", "typing_agent", "waiting_agent"]),
], ids=["restricted_case", "unrestricted_case"])
def test_discovery_lists_what_the_key_may_call(agent_gateway: GatewayProcess, transactional_db: None,
                                               permission: dict[str, Any], visible: list[str]) -> None:
    _, secret = make_key(None, None, object_permission=permission)
    listed = httpx.get(f"{agent_gateway.url}/v1/agents", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert [agent["agent_name"] for agent in listed.json()] == visible
    card = listed.json()[0]["agent_card_params"]
    assert card["url"] == f"{agent_gateway.url}/a2a/{visible[0]}"
    if permission:
        refused = send(agent_gateway, "busy_agent", "hi", key=secret)
        assert refused.json()["error"]["code"] == -32001


def test_a_team_restriction_applies_to_its_keys(agent_gateway: GatewayProcess, transactional_db: None) -> None:
    from apps.teams import services

    team = services.team_new(fields={"team_alias": "agents-team", "object_permission": {"agents": ["busy_agent"]}},
                             members=[])
    _, secret = make_key(None, team)
    listed = httpx.get(f"{agent_gateway.url}/v1/agents", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert [agent["agent_name"] for agent in listed.json()] == ["busy_agent"]


def test_an_agents_allowed_teams_shut_out_other_keys(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("team-only", allowed_teams=["some-team"])
    _, secret = make_key(None, None)
    assert send(agent_gateway, "team-only", "hi", key=secret).json()["error"]["code"] == -32001
    assert task_of(send(agent_gateway, "team-only", "hi"))["status"]["state"] == "TASK_STATE_COMPLETED"
    assert SpendLog.objects.filter(model_alias="a2a/team-only").count() <= 1


@pytest.mark.parametrize("agent", ["hosted-traced", "research_agent"], ids=["hosted_case", "in_code_case"])
def test_an_agents_model_calls_carry_its_trace_and_agent_ids_and_their_rows_name_it(
        agent_gateway: GatewayProcess, models: OpenAIUpstream, agent: str) -> None:
    agent_id = hosted("hosted-traced").agent_id if agent == "hosted-traced" else "research_agent"
    key, secret = make_key(None, None, key_alias="tracer", tags=["team-tag"])
    answer = httpx.post(f"{agent_gateway.url}/a2a/{agent}", timeout=60, json=rpc("SendMessage", {"message": {
        "messageId": "m", "role": "ROLE_USER", "parts": [{"text": "trace me"}]}}),
        headers={"Authorization": f"Bearer {secret}", "A2A-Version": "1.0", "X-LiteLLM-Trace-Id": "trace-42"})
    assert task_of(answer)["status"]["state"] == "TASK_STATE_COMPLETED"
    [model_call] = models.requests
    assert (model_call.headers["x-litellm-trace-id"], model_call.headers["x-litellm-agent-id"]) == (
        "trace-42", agent_id)
    rows = {row.call_type: row for row in wait_for_spend_rows(2, key_id=key.pk)}
    assert rows["chat"].tags == rows["a2a"].tags == ["team-tag", f"agent:{agent_id}"]
    assert rows["chat"].request_id == f"{rows['a2a'].request_id}.1"
    # the agent call's row: its caller and its duration, which spans the model call it made
    assert (rows["a2a"].key_hash, rows["a2a"].model_alias) == (key.token_hash, f"a2a/{agent}")
    assert rows["a2a"].start_time <= rows["chat"].start_time <= rows["chat"].end_time <= rows["a2a"].end_time
    assert rows["a2a"].latency_ms >= rows["chat"].latency_ms
