"""LiteLLM's agent management at /v1/agents (create, read, replace, change, delete; proxy admins only for writes),
config.yaml's agent_list, and `model: "a2a/<agent>"` on /v1/chat/completions through the openai SDK."""
from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from apps.agents.management import config_agent_id
from apps.agents.models import Agent
from apps.routing.config import ConfigError, load_config_file
from apps.providers.registry import ADAPTERS
from apps.routing.services import deployments_sync_from_config
from tests.agents.conftest import hosted
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key, make_user, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
CARD = {"name": "Helper", "description": "Helps", "version": "1.2.0",
        "skills": [{"id": "help", "name": "Help", "description": "helps out", "tags": ["help"]}]}


def test_create_read_replace_patch_and_delete(agent_gateway: GatewayProcess, transactional_db: None) -> None:
    base = f"{agent_gateway.url}/v1/agents"
    created = httpx.post(base, headers=AUTH, timeout=30, json={
        "agent_name": "helper", "agent_card_params": CARD,
        "litellm_params": {"model": "gpt-4o", "system_prompt": "Help.", "api_key": "sk-hidden"}}).json()
    assert set(created) == {"agent_id", "agent_name", "litellm_params", "agent_card_params", "created_at",
                            "updated_at", "created_by", "updated_by"}
    assert (created["agent_name"], created["created_by"], created["agent_card_params"]) == ("helper", "master", CARD)
    agent_id = created["agent_id"]
    row = Agent.objects.get(agent_id=agent_id)
    assert (row.kind, row.description, row.version, row.skills) == ("hosted", "Helps", "1.2.0", CARD["skills"])

    read = httpx.get(f"{base}/{agent_id}", headers=AUTH, timeout=30).json()
    assert read["litellm_params"] == {"model": "gpt-4o", "system_prompt": "Help."}  # no secret comes back
    assert read["agent_card_params"] == CARD  # an admin reads the card as stored: what a PUT puts back
    _, caller = make_key(None, None)
    served = httpx.get(f"{base}/{agent_id}", headers={"Authorization": f"Bearer {caller}"}, timeout=30).json()
    assert served["agent_card_params"]["url"] == f"{agent_gateway.url}/a2a/{agent_id}"  # a caller: the card it calls
    assert served["litellm_params"] == read["litellm_params"]

    replaced = httpx.put(f"{base}/{agent_id}", headers=AUTH, timeout=30, json={
        "agent_name": "helper-2", "agent_card_params": {**CARD, "description": "Helps more"}}).json()
    assert (replaced["agent_name"], replaced["litellm_params"]) == ("helper-2", {})
    patched = httpx.patch(f"{base}/{agent_id}", headers=AUTH, timeout=30,
                          json={"litellm_params": {"model": "gpt-4o", "rpm_limit": 5}}).json()
    assert (patched["agent_name"], patched["agent_card_params"]["description"]) == ("helper-2", "Helps more")
    assert Agent.objects.get(agent_id=agent_id).rpm_limit == 5

    deleted = httpx.delete(f"{base}/{agent_id}", headers=AUTH, timeout=30)
    assert deleted.json() == {"message": f"Agent {agent_id} deleted successfully"}
    gone = httpx.get(f"{base}/{agent_id}", headers=AUTH, timeout=30)
    assert (gone.status_code, gone.json()["error"]["message"]) == (404, f"Agent with ID {agent_id} not found")


@pytest.mark.parametrize(("body", "param", "code"), [
    ({"agent_card_params": CARD}, "agent_name", "missing_required_parameter"),
    ({"agent_name": "x"}, "agent_card_params", "missing_required_parameter"),
    ({"agent_name": "x", "agent_card_params": CARD, "colour": "red"}, "colour", "unknown_field"),
    ({"agent_name": "x", "agent_card_params": "card"}, "agent_card_params", "invalid_type"),
], ids=["no_name_case", "no_card_case", "unknown_field_case", "card_not_object_case"])
def test_bad_bodies_are_refused_naming_the_field(agent_gateway: GatewayProcess, transactional_db: None,
                                                 body: dict[str, object], param: str, code: str) -> None:
    answer = httpx.post(f"{agent_gateway.url}/v1/agents", headers=AUTH, json=body, timeout=30)
    assert answer.status_code == 400
    assert (answer.json()["error"]["param"], answer.json()["error"]["code"]) == (param, code)


def test_a_name_is_taken_once(agent_gateway: GatewayProcess, transactional_db: None) -> None:
    hosted("taken")
    answer = httpx.post(f"{agent_gateway.url}/v1/agents", headers=AUTH, timeout=30,
                        json={"agent_name": "taken", "agent_card_params": CARD})
    assert (answer.status_code, answer.json()["error"]["message"]) == (400, "Agent with name taken already exists")


def test_only_proxy_admins_write(agent_gateway: GatewayProcess, transactional_db: None) -> None:
    _, member = make_key(make_user("bob"), None)
    _, admin = make_key(make_user("root", user_role="proxy_admin"), None)
    body = {"agent_name": "by-key", "agent_card_params": CARD}
    refused = httpx.post(f"{agent_gateway.url}/v1/agents", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {member}"})
    assert (refused.status_code, refused.json()["error"]["type"]) == (403, "permission_error")
    made = httpx.post(f"{agent_gateway.url}/v1/agents", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {admin}"})
    assert (made.status_code, made.json()["created_by"]) == (200, "root")


def test_agent_list_in_config_is_loaded_with_litellm_ids(transactional_db: None, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\nagent_list:\n"
                      "  - agent_name: cfg-hosted\n    agent_card_params: {name: cfg, description: from config}\n"
                      "    litellm_params: {model: gpt-4o, system_prompt: Be brief.}\n"
                      "  - agent_name: cfg-remote\n    agent_card_params: {name: far, description: far away}\n"
                      "    litellm_params: {api_base: 'http://127.0.0.1:9999'}\n")
    loaded = load_config_file(config, set(ADAPTERS))
    assert loaded.warnings == ()
    deployments_sync_from_config(config=loaded)
    rows = {row.agent_name: row for row in Agent.objects.all()}
    assert {name: (row.kind, row.source) for name, row in rows.items()} == {
        "cfg-hosted": ("hosted", "config"), "cfg-remote": ("remote", "config")}
    assert rows["cfg-hosted"].agent_id == config_agent_id(dict(loaded.agent_list[0]))
    config.write_text("model_list: []\nagent_list: []\n")
    deployments_sync_from_config(config=load_config_file(config, set(ADAPTERS)))
    assert Agent.objects.count() == 0


def test_a_config_agent_may_not_take_a_database_agents_name(transactional_db: None, tmp_path: Path) -> None:
    hosted("mine")
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\nagent_list:\n  - agent_name: mine\n    agent_card_params: {name: mine}\n"
                      "    litellm_params: {model: gpt-4o}\n")
    with pytest.raises(ConfigError, match="agent_list: an agent named mine already exists outside config.yaml"):
        deployments_sync_from_config(config=load_config_file(config, set(ADAPTERS)))


def test_a_bad_agent_list_names_its_entry(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\nagent_list:\n  - agent_card_params: {}\n")
    with pytest.raises(ConfigError, match=r"agent_list\[0\]: needs a string agent_name"):
        load_config_file(config, set(ADAPTERS))


def test_chat_completions_reach_an_agent_as_a2a_model(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    client = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{agent_gateway.url}/v1", max_retries=0, timeout=60)
    reply = client.chat.completions.with_raw_response.create(
        model="a2a/research_agent", messages=[{"role": "user", "content": "bridge me"}])
    assert reply.parse().choices[0].message.content == "This is a mock response to: bridge me"
    assert (reply.headers["x-litellm-model-id"], reply.headers["x-litellm-model-group"]) == (
        "research_agent", "a2a/research_agent")
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(
        model="a2a/research_agent", stream=True, messages=[{"role": "user", "content": "stream me"}]))
    assert streamed == "This is a mock response to: stream me"


def test_a2a_model_unknown_or_forbidden_is_model_not_found(agent_gateway: GatewayProcess,
                                                          transactional_db: None) -> None:
    _, secret = make_key(None, None, object_permission={"agents": ["busy_agent"]})
    client = openai.OpenAI(api_key=secret, base_url=f"{agent_gateway.url}/v1", max_retries=0, timeout=30)
    for model in ("a2a/nobody", "a2a/research_agent"):
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]


CONVERSATION = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"}, {"role": "user", "content": [{"type": "text",
                                                                                      "text": "how are you"}]}]


@pytest.mark.parametrize("stream", [False, True], ids=["complete_case", "stream_case"])
def test_the_chat_bridge_sends_the_whole_conversation(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                      stream: bool) -> None:
    hosted("chatty", prompt="You chat.")
    client = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{agent_gateway.url}/v1", max_retries=0, timeout=60)
    for model in ("a2a/chatty", "a2a/research_agent"):
        answer = client.chat.completions.create(model=model, messages=CONVERSATION, stream=stream)  # type: ignore
        if stream:
            assert "".join(chunk.choices[0].delta.content or "" for chunk in answer if chunk.choices)
    hosted_call, code_call = (request.json()["messages"] for request in models.requests)
    assert hosted_call == [{"role": "system", "content": "You chat."}, {"role": "user", "content": "system: Be terse."},
                           {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                           {"role": "user", "content": "how are you"}]
    assert code_call[1] == {"role": "user", "content": "system: Be terse.\nuser: hi\nassistant: hello\n"
                                                       "user: how are you"}


def test_an_agent_called_as_a_model_charges_the_calls_end_user_with_its_tags(agent_gateway: GatewayProcess,
                                                                             models: OpenAIUpstream) -> None:
    reply = httpx.post(f"{agent_gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                       json={"model": "a2a/research_agent", "messages": [{"role": "user", "content": "tag me"}],
                             "user": "customer-a", "metadata": {"tags": ["agentic"]}}, timeout=60)
    assert reply.status_code == 200, reply.text
    rows = wait_for_spend_rows(1, request_id=reply.headers["x-request-id"], call_type="a2a")
    assert [(row.end_user, row.tags) for row in rows] == [("customer-a", ["agentic", "agent:research_agent"])]


def test_agent_writes_are_audited_with_their_secrets_masked(agent_gateway: GatewayProcess,
                                                            transactional_db: None) -> None:
    from apps.core.secret_params import MASK
    from apps.portal.models import AuditLog

    base = f"{agent_gateway.url}/v1/agents"
    created = httpx.post(base, headers=AUTH, timeout=30, json={
        "agent_name": "audited", "agent_card_params": CARD,
        "litellm_params": {"model": "gpt-4o", "api_key": "sk-agent-hidden-0123", "aws_secret_access_key": "aws-x-42"}})
    assert created.status_code == 200, created.text
    assert created.json()["litellm_params"] == {"model": "gpt-4o", "api_key": MASK, "aws_secret_access_key": MASK}
    agent_id = created.json()["agent_id"]
    httpx.patch(f"{base}/{agent_id}", headers=AUTH, timeout=30, json={"litellm_params": {
        "model": "gpt-4o-mini", "api_key": MASK, "aws_secret_access_key": MASK}})  # sent back as shown: kept
    assert Agent.objects.get(agent_id=agent_id).litellm_params["api_key"] == "sk-agent-hidden-0123"
    httpx.delete(f"{base}/{agent_id}", headers=AUTH, timeout=30)
    entries = list(AuditLog.objects.filter(object_type="agents.agent").order_by("id").values_list(
        "actor", "via", "action"))
    assert entries == [("master key", "api", "created"), ("master key", "api", "updated"),
                       ("master key", "api", "deleted")]
    first = AuditLog.objects.filter(object_type="agents.agent").order_by("id").first()
    assert first is not None and first.after["litellm_params"]["api_key"] == MASK
    every_row = str(list(AuditLog.objects.values()))
    assert "sk-agent-hidden-0123" not in every_row and "aws-x-42" not in every_row
