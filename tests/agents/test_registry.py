"""The registry's switches and sources, each seen from a call through the gateway: `allowed_keys`, `enabled`,
the Django admin's Agent and AgentTask pages (an agent added there is served), and config.yaml's hosted and remote
agents answering."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
from django.test import Client

from apps.agents.models import Agent, AgentTask
from apps.providers.registry import ADAPTERS
from apps.routing.config import load_config_file
from apps.routing.services import deployments_sync_from_config
from tests.agents.conftest import hosted, rpc
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key
from tests.upstreams.a2a_agent import SdkAgent
from tests.upstreams.openai import OpenAIUpstream

MOCK = "This is a mock response to:"


def send(gateway: GatewayProcess, agent: str, text: str, *, key: str = MASTER_KEY) -> dict[str, object]:
    answer = httpx.post(f"{gateway.url}/a2a/{agent}", headers={"Authorization": f"Bearer {key}", "A2A-Version": "1.0"},
                        json=rpc("SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                             "parts": [{"text": text}]}}), timeout=60)
    return dict(answer.json())


def listed(gateway: GatewayProcess, key: str) -> list[str]:
    answer = httpx.get(f"{gateway.url}/v1/agents", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return [agent["agent_name"] for agent in answer.json()]


def state_of(answer: dict[str, object]) -> str:
    assert "result" in answer, answer
    return str(answer["result"]["task"]["status"]["state"])  # type: ignore[index]


def test_allowed_keys_let_in_only_the_keys_named(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    by_hash, by_hash_secret = make_key(None, None, key_alias="hashed")
    _, by_alias = make_key(None, None, key_alias="named")
    _, other = make_key(None, None, key_alias="someone-else")
    hosted("keyed", allowed_keys=["named", by_hash.token_hash])
    for secret in (by_alias, by_hash_secret):
        assert state_of(send(agent_gateway, "keyed", "hi", key=secret)) == "TASK_STATE_COMPLETED"
        assert "keyed" in listed(agent_gateway, secret)
    refused = send(agent_gateway, "keyed", "hi", key=other)
    assert (refused["error"]["code"], refused["error"]["message"]) == (-32001, "Agent keyed was not found.")  # type: ignore[index]
    assert "keyed" not in listed(agent_gateway, other)


def test_a_disabled_agent_is_not_served_but_its_admin_still_reads_it(agent_gateway: GatewayProcess,
                                                                   models: OpenAIUpstream) -> None:
    row = hosted("switched-off", enabled=False)
    assert send(agent_gateway, "switched-off", "hi")["error"]["code"] == -32001  # type: ignore[index]
    assert "switched-off" not in listed(agent_gateway, MASTER_KEY)
    read = httpx.get(f"{agent_gateway.url}/v1/agents/{row.agent_id}", timeout=30,
                     headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert (read.status_code, read.json()["agent_name"]) == (200, "switched-off")
    httpx.patch(f"{agent_gateway.url}/v1/agents/{row.agent_id}", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                json={"litellm_params": {**row.litellm_params, "enabled": True}}, timeout=30).raise_for_status()
    assert state_of(send(agent_gateway, "switched-off", "back")) == "TASK_STATE_COMPLETED"


def test_an_agent_added_in_the_admin_is_served(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                               admin_client: Client) -> None:
    form = {"agent_id": "from-admin", "agent_name": "from-admin", "kind": "hosted", "description": "made by hand",
            "version": "1.0.0", "skills": "[]", "agent_card_params": "{}", "protocol_version": "",
            "litellm_params": json.dumps({"model": "gpt-4o", "system_prompt": "Admin made me."}),
            "allowed_teams": "[]", "allowed_keys": "[]", "enabled": "on", "rpm_limit": "",
            "created_by": "root", "updated_by": "root"}
    added = admin_client.post("/admin/agents/agent/add/", form)
    assert added.status_code == 302, added.content.decode()[:2000]
    answer = send(agent_gateway, "from-admin", "hello admin")
    assert state_of(answer) == "TASK_STATE_COMPLETED"
    assert models.requests[0].json()["messages"][0] == {"role": "system", "content": "Admin made me."}
    task_id = answer["result"]["task"]["id"]  # type: ignore[index]
    pages = ["/admin/agents/agent/", "/admin/agents/agent/from-admin/change/", "/admin/agents/agenttask/",
             f"/admin/agents/agenttask/{task_id}/change/"]
    AgentTask.objects.get(task_id=task_id)
    for page in pages:
        shown = admin_client.get(page)
        assert shown.status_code == 200, page
    assert "from-admin" in admin_client.get("/admin/agents/agent/?q=from-admin").content.decode()
    assert task_id in admin_client.get("/admin/agents/agenttask/?state=TASK_STATE_COMPLETED").content.decode()


def test_config_yaml_agents_answer_through_the_gateway(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                       tmp_path: Path) -> None:
    with SdkAgent() as remote:
        config = tmp_path / "config.yaml"
        config.write_text("model_list: []\nagent_list:\n"
                          "  - agent_name: cfg-hosted\n    agent_card_params: {name: cfg, description: from config}\n"
                          "    litellm_params: {model: gpt-4o, system_prompt: Be brief.}\n"
                          "  - agent_name: cfg-remote\n    agent_card_params: {name: far, description: far away}\n"
                          f"    litellm_params: {{api_base: '{remote.base}'}}\n")
        deployments_sync_from_config(config=load_config_file(config, set(ADAPTERS)))
        hosted_answer, remote_answer = send(agent_gateway, "cfg-hosted", "brief"), send(agent_gateway, "cfg-remote",
                                                                                        "far")
    assert state_of(hosted_answer) == state_of(remote_answer) == "TASK_STATE_COMPLETED"
    assert models.requests[0].json()["messages"] == [{"role": "system", "content": "Be brief."},
                                                    {"role": "user", "content": "brief"}]
    assert remote_answer["result"]["task"]["artifacts"][0]["parts"] == [{"text": "remote says: far"}]  # type: ignore[index]
