"""Role x route for agent management (`POST /v1/agents`, `GET`/`PUT`/`PATCH`/`DELETE /v1/agents/{id}`), as the
management matrix does it for the rest of the management API: each role gets exactly its rights, a refused write
changes nothing (every table re-read), and an agent the caller may not call answers as one that does not exist.

The target is an agent only team B may call (mallory runs team B, eve is a plain member there).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from apps.agents.registry import GENERATION
from apps.core.state import state
from tests.agents.conftest import hosted
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, cast, client  # noqa: F401  (cast is a fixture)
from tests.teams.management_roles import Roles, roles_for, world_state

CARD = {"name": "Helper", "description": "Helps"}
ACTORS = ("root", "admin", "viewer", "alice", "bob", "mallory", "eve", "blocked", "expired", "hashed")
Body = Callable[[str], dict[str, Any]]
# (name, method, path under /v1/agents, body for the actor, the statuses that are not 403)
CASES: list[tuple[str, str, str, Body, dict[str, int]]] = [
    ("create", "POST", "", lambda actor: {"agent_name": f"new-{actor}", "agent_card_params": CARD}, {}),
    ("replace", "PUT", "/{id}", lambda actor: {"agent_name": f"renamed-{actor}", "agent_card_params": CARD}, {}),
    ("patch", "PATCH", "/{id}", lambda actor: {"litellm_params": {"model": "gpt-4o", "rpm_limit": 7}}, {}),
    ("delete", "DELETE", "/{id}", lambda actor: {}, {}),
    # A proxy admin reads any agent as stored (what it may PUT back); a viewer or another team only what it may call.
    ("read", "GET", "/{id}", lambda actor: {}, {"root": 200, "mallory": 200, "eve": 200, "admin": 200,
                                                "viewer": 404, "alice": 404, "bob": 404}),
]
WRITERS = {"root": 200, "admin": 200}


def expected(actor: str, method: str, reads: dict[str, int]) -> int:
    if actor in ("blocked", "expired", "hashed"):
        return 401
    return reads.get(actor, 404) if method == "GET" else WRITERS.get(actor, 403)


@pytest.fixture
def roles(cast: Cast) -> Roles:  # noqa: F811
    return roles_for(cast)


def team_b_agent(roles: Roles, name: str) -> str:
    agent = hosted(name, allowed_teams=[roles.cast.team_b.team_id])
    state().bump_generation(GENERATION)  # the gateway rereads its agents
    return agent.agent_id


@pytest.mark.parametrize(("method", "path", "body", "reads"),
                         [pytest.param(m, p, b, r, id=f"{n}_case") for n, m, p, b, r in CASES])
def test_each_role_gets_exactly_its_rights_on_agents(roles: Roles, agent_gateway: GatewayProcess, method: str,
                                                     path: str, body: Body, reads: dict[str, int]) -> None:
    for actor in ACTORS:
        agent_id = team_b_agent(roles, f"target-for-{actor}")
        before = world_state()
        with client(agent_gateway, roles.secret(actor)) as http:
            response = http.request(method, "/v1/agents" + path.format(id=agent_id),
                                    json=None if method in ("GET", "DELETE") else body(actor))
        assert response.status_code == expected(actor, method, reads), (actor, response.text)
        if response.status_code != 200:
            assert world_state() == before, actor
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        elif method != "GET":
            assert world_state() != before, f"{actor}: an allowed write changed nothing"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_an_agent_the_key_may_not_call_answers_as_a_made_up_one(roles: Roles, agent_gateway: GatewayProcess,
                                                                method: str) -> None:
    real = team_b_agent(roles, "team-b-only")
    before = world_state()
    answers = []
    for actor in ("bob", "alice"):
        for agent_id in (real, "agent-made-up-0000"):
            with client(agent_gateway, roles.secret(actor)) as http:
                response = http.request(method, f"/v1/agents/{agent_id}",
                                        json={"agent_name": "x", "agent_card_params": CARD}
                                        if method in ("PUT", "PATCH") else None)
            answers.append((actor, response.status_code, response.text.replace(agent_id, "<agent>")))
    assert answers[0][1:] == answers[1][1:] and answers[2][1:] == answers[3][1:], answers
    assert answers[0][1] == (404 if method == "GET" else 403)
    assert world_state() == before


def test_the_agent_list_shows_only_callable_agents(roles: Roles, agent_gateway: GatewayProcess) -> None:
    team_b_agent(roles, "team-b-only")
    for actor, names in (("root", ["team-b-only"]), ("eve", ["team-b-only"]), ("bob", []), ("viewer", [])):
        with client(agent_gateway, roles.secret(actor)) as http:
            listed = http.get("/v1/agents").json()
        # the in-code agents of tests.agents.code_agents are open to every key; only the database agent is limited
        assert [agent["agent_name"] for agent in listed if agent["agent_name"] == "team-b-only"] == names, actor
