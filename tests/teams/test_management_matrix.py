"""Role x endpoint: every management endpoint, called over HTTP by mallory, bob, alice and root.

Targets are team A's objects (alice runs team A, bob is a member, mallory runs team B); each actor
gets a fresh key of bob's to act on, and root goes last because its deletes are final. A refused call
changes nothing, and nobody outside team A learns that its objects exist (404, not 403).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.teams.models import Team, TeamMembership, User, VirtualKey
from tests.conftest import GatewayProcess
from apps.teams import services
from tests.teams.conftest import Cast, client, make_key

ACTORS = ("mallory", "bob", "alice", "root")
Body = Callable[[Cast, VirtualKey], dict[str, Any]]


def expect(root: int, alice: int, bob: int, mallory: int) -> dict[str, int]:
    return {"root": root, "alice": alice, "bob": bob, "mallory": mallory}


def a(c: Cast) -> str:
    return c.team_a.team_id




CASES: list[tuple[str, str, str, Body, dict[str, int]]] = [
    ("key_generate_for_bob", "POST", "/key/generate", lambda c, k: {"team_id": a(c), "user_id": "bob"},
     expect(200, 200, 200, 404)),
    ("key_generate_for_alice", "POST", "/key/generate", lambda c, k: {"team_id": a(c), "user_id": "alice"},
     expect(200, 200, 403, 404)),
    ("key_update", "POST", "/key/update", lambda c, k: {"key": k.token_hash, "max_budget": 5}, expect(200, 200, 403, 404)),
    ("key_info", "GET", "/key/info", lambda c, k: {"key": k.token_hash}, expect(200, 200, 200, 404)),
    ("key_list", "GET", "/key/list", lambda c, k: {"team_id": a(c)}, expect(200, 200, 200, 200)),
    ("key_block", "POST", "/key/block", lambda c, k: {"key": k.token_hash}, expect(200, 200, 403, 404)),
    ("key_unblock", "POST", "/key/unblock", lambda c, k: {"key": k.token_hash}, expect(200, 200, 403, 404)),
    ("key_regenerate", "POST", "/key/regenerate", lambda c, k: {"key": k.token_hash}, expect(200, 200, 200, 404)),
    ("key_delete", "POST", "/key/delete", lambda c, k: {"keys": [k.token_hash]}, expect(200, 200, 200, 404)),
    ("team_new", "POST", "/team/new", lambda c, k: {"team_alias": "team-c"}, expect(200, 403, 403, 403)),
    ("team_update", "POST", "/team/update", lambda c, k: {"team_id": a(c), "max_budget": 100},
     expect(200, 403, 403, 403)),
    ("team_info", "GET", "/team/info", lambda c, k: {"team_id": a(c)}, expect(200, 200, 200, 404)),
    ("team_list", "GET", "/team/list", lambda c, k: {}, expect(200, 200, 200, 200)),
    ("team_delete", "POST", "/team/delete", lambda c, k: {"team_ids": [a(c)]}, expect(200, 403, 403, 403)),
    ("team_member_add", "POST", "/team/member_add",
     lambda c, k: {"team_id": a(c), "member": {"role": "user", "user_id": "carol"}}, expect(200, 200, 403, 404)),
    ("team_member_delete", "POST", "/team/member_delete", lambda c, k: {"team_id": a(c), "user_id": "bob"},
     expect(200, 200, 403, 404)),
    ("user_new", "POST", "/user/new", lambda c, k: {"user_id": "dave"}, expect(200, 403, 403, 403)),
    ("user_info", "GET", "/user/info", lambda c, k: {"user_id": "bob"}, expect(200, 200, 200, 404)),
    ("user_update", "POST", "/user/update", lambda c, k: {"user_id": "bob", "max_budget": 1}, expect(200, 403, 403, 403)),
    ("user_delete", "POST", "/user/delete", lambda c, k: {"user_ids": ["bob"]}, expect(200, 403, 403, 403)),
    ("organization_new", "POST", "/organization/new", lambda c, k: {"organization_alias": "initech"},
     expect(200, 403, 403, 403)),
    ("organization_info", "GET", "/organization/info", lambda c, k: {"organization_id": c.org.organization_id},
     expect(200, 403, 403, 403)),
    ("team_member_update", "POST", "/team/member_update", lambda c, k: {"team_id": a(c), "user_id": "bob",
                                                                         "role": "user"}, expect(200, 200, 403, 404)),
    ("team_model_add", "POST", "/team/model/add", lambda c, k: {"team_id": a(c), "models": ["gpt-x"]},
     expect(200, 403, 403, 403)),
    ("team_block", "POST", "/team/block", lambda c, k: {"team_id": a(c)}, expect(200, 403, 403, 403)),
    ("user_list", "GET", "/user/list", lambda c, k: {}, expect(200, 200, 200, 200)),
    ("organization_list", "GET", "/organization/list", lambda c, k: {}, expect(200, 403, 403, 403)),
    ("organization_update", "PATCH", "/organization/update",
     lambda c, k: {"organization_id": c.org.organization_id, "max_budget": 5}, expect(200, 403, 403, 403)),
    ("organization_member_add", "POST", "/organization/member_add",
     lambda c, k: {"organization_id": c.org.organization_id, "member": {"role": "internal_user", "user_id": "carol"}},
     expect(200, 403, 403, 403)),
    ("budget_new", "POST", "/budget/new", lambda c, k: {"budget_id": "b-1", "max_budget": 1},
     expect(200, 403, 403, 403)),
    ("budget_list", "GET", "/budget/list", lambda c, k: {}, expect(200, 403, 403, 403)),
    ("end_user_new", "POST", "/end_user/new", lambda c, k: {"user_id": "cust-1"}, expect(200, 403, 403, 403)),
    ("customer_list", "GET", "/customer/list", lambda c, k: {}, expect(200, 403, 403, 403)),
    ("spend_logs", "GET", "/spend/logs", lambda c, k: {"team_id": a(c)}, expect(200, 200, 200, 200)),
    ("global_spend_report", "GET", "/global/spend/report", lambda c, k: {"group_by": "team"},
     expect(200, 200, 200, 200)),
]


def team_a_state(c: Cast, target: VirtualKey) -> tuple[object, ...]:
    """Everything a refused call must leave alone."""
    key = VirtualKey.objects.filter(pk=target.pk).values_list("token_hash", "blocked", "max_budget").first()
    team = Team.objects.filter(pk=c.team_a.pk).values_list("team_alias", "max_budget").first()
    members = sorted(TeamMembership.objects.filter(team=c.team_a).values_list("user__username", "role"))
    return (key, team, members, VirtualKey.objects.count(), Team.objects.count(), User.objects.count(),
            User.objects.get(username="bob").max_budget)


@pytest.mark.parametrize(("method", "path", "body", "expected"),
                         [pytest.param(m, p, b, e, id=f"{n}_case") for n, m, p, b, e in CASES])
def test_each_role_gets_exactly_its_rights(cast: Cast, gateway: GatewayProcess, method: str, path: str,
                                           body: Body, expected: dict[str, int]) -> None:
    bob = cast.bob.user
    assert bob is not None
    for actor in ACTORS:
        if not User.objects.filter(pk=bob.pk).exists():
            break  # root deleted bob: nothing is left to act on
        services.team_member_add(team=cast.team_a, user=bob, role="user")
        target, _ = make_key(bob, cast.team_a, key_alias=f"target-for-{actor}")
        before = team_a_state(cast, target)
        with client(gateway, cast.actor(actor).secret) as http:
            payload = body(cast, target)
            response = http.get(path, params=payload) if method == "GET" else \
                http.request(method, path, json=payload)
        assert response.status_code == expected[actor], (actor, response.text)
        if response.status_code != 200:
            assert team_a_state(cast, target) == before, actor
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}


VISIBLE_KEYS = {"root": {"alice", "bob", "mallory"}, "alice": {"alice", "bob"}, "bob": {"bob"},
                "mallory": {"mallory"}}
VISIBLE_TEAMS = {"root": {"team-a", "team-b"}, "alice": {"team-a"}, "bob": {"team-a"}, "mallory": {"team-b"}}


@pytest.mark.parametrize("actor", ACTORS)
def test_lists_show_only_what_the_role_may_see(cast: Cast, gateway: GatewayProcess, actor: str) -> None:
    owners = {key.token_hash: key.user.username for key in VirtualKey.objects.select_related("user")}
    with client(gateway, cast.actor(actor).secret) as http:
        keys = http.get("/key/list", params={"size": 100}).json()["keys"]
        teams = http.get("/team/list").json()
        snooped = http.get("/key/list", params={"team_id": cast.team_a.team_id}).json()["keys"]
    assert {owners[h] for h in keys} == VISIBLE_KEYS[actor]
    assert {t["team_alias"] for t in teams} == VISIBLE_TEAMS[actor]
    assert {owners[h] for h in snooped} == VISIBLE_KEYS[actor] - {"mallory"}


def test_no_key_or_a_bad_key_is_401_everywhere(gateway: GatewayProcess) -> None:
    import httpx

    with httpx.Client(base_url=gateway.url, timeout=30) as anonymous:
        for _, method, path, _, _ in CASES:
            response = anonymous.request(method, path, headers={"Authorization": "Bearer sk-nope-nope-nope"})
            assert response.status_code == 401, path
            assert anonymous.request(method, path).status_code == 401, path
