"""A real a2a-sdk 0.3 client (the release deployed 0.3 clients run, in a venv of its own) against the live gateway:
it discovers the agent from the full card, picks the 0.3 JSON-RPC interface itself, sends no A2A-Version header,
and sends, streams, gets, cancels, resubscribes and is refused a wrong key."""
from __future__ import annotations

import json
import subprocess

from tests.agents.legacy_sdk import legacy_python
from tests.conftest import MASTER_KEY, ROOT, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

MOCK = "This is a mock response to:"


def test_a_0_3_sdk_client_works_from_the_full_card(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    python = legacy_python()
    done = subprocess.run([str(python), str(ROOT / "tests" / "agents" / "legacy_client.py"), agent_gateway.url,
                           MASTER_KEY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout)
    endpoint = f"{agent_gateway.url}/a2a/research_agent"
    assert seen["card"] == [endpoint, "0.3.0", "JSONRPC", [["JSONRPC", endpoint]]]
    assert (seen["send"], seen["send_texts"]) == ([["completed", "task"]], [f"{MOCK} old send"])
    assert seen["stream"] == [["submitted", "task"], ["working", "status-update"], ["working", "artifact-update"],
                              ["completed", "status-update"]]
    assert seen["get"] == [True, "completed", [f"{MOCK} old stream"], [["old stream"]]]
    assert seen["extended_card"] == ["research_agent", endpoint]
    assert seen["cancel"] == [["submitted", "working"], "canceled", ["working", "canceled"]]
    assert seen["wrong_key"] == 401
    calls = {(method, path) for method, path, _ in seen["requests"]}
    assert calls == {("GET", "/a2a/research_agent/.well-known/agent-card.json"), ("POST", "/a2a/research_agent"),
                     ("GET", "/a2a/waiting_agent/.well-known/agent-card.json"), ("POST", "/a2a/waiting_agent")}
    assert {version for _, _, version in seen["requests"]} == {None}  # the header-less path: 0.3 by its absence
