"""Role x endpoint: every management endpoint, called over HTTP by every kind of caller.

Targets are team A's objects (alice runs team A, bob is a member, mallory runs team B, eve is a plain member of
team B); each actor gets a fresh key of bob's to act on. In one run eve, mallory, bob, alice and the viewer go
first and root last, because
its deletes are final; a proxy admin user's key (ada) runs alone on a fresh world. Every answer is checked
against the role's rights (positive controls: an allowed write changes the world), a refused call changes
nothing (every table re-read), and nobody outside team A learns that its objects exist (404, not 403).
A blocked key, an expired key and a key's hash sent as the key are 401 everywhere.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from apps.teams import services
from apps.teams.models import User, VirtualKey
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client, make_key
from tests.teams.management_roles import BUDGET_ID, END_USER_ID, MODEL_ID, Roles, roles_for, world_state

Body = Callable[[Roles, VirtualKey], dict[str, Any]]
Rights = dict[str, int]
RUNS = {"root": ("eve", "mallory", "bob", "alice", "viewer", "root"), "admin": ("admin",), "olga": ("olga",)}
WINDOW = {"start_date": "2026-01-01", "end_date": "2026-01-31"}


def write(root: int, alice: int, bob: int, mallory: int, eve: int | None = None, olga: int | None = None) -> Rights:
    """A write: viewers may not (403); a proxy admin user may what the master key may; another team's plain member
    (eve) gets what its admin (mallory) gets unless told otherwise, as team A is as unseen to both; the org admin
    of team A's organization (olga, in a run of her own) gets what team A's admin gets unless told otherwise."""
    return {"root": root, "admin": root, "alice": alice, "bob": bob, "mallory": mallory,
            "eve": mallory if eve is None else eve, "olga": alice if olga is None else olga, "viewer": 403}


def read(root: int, alice: int, bob: int, mallory: int, eve: int | None = None, olga: int | None = None) -> Rights:
    """A read: viewers see what proxy admins see."""
    return {**write(root, alice, bob, mallory, eve, olga), "viewer": root}


ADMINS = write(200, 403, 403, 403)
READERS = read(200, 403, 403, 403)
ANYONE = read(200, 200, 200, 200)


def a(r: Roles) -> str:
    return r.cast.team_a.team_id


def org(r: Roles) -> str:
    return r.cast.org.organization_id


# (name, method, path, body, rights, changes): `path` may name the target key as {key}; `changes` says whether
# an allowed call changes the world (False for reads and for writes that change nothing here, as an unblock).
Case = tuple[str, str, str, Body, Rights, bool]
CASES: list[Case] = [
    ("key_generate_for_bob", "POST", "/key/generate", lambda r, k: {"team_id": a(r), "user_id": "bob"},
     write(200, 200, 200, 404), True),
    ("key_generate_for_alice", "POST", "/key/generate", lambda r, k: {"team_id": a(r), "user_id": "alice"},
     write(200, 200, 403, 404), True),
    ("key_update", "POST", "/key/update", lambda r, k: {"key": k.token_hash, "max_budget": 5},
     write(200, 200, 403, 404), True),
    ("key_info", "GET", "/key/info", lambda r, k: {"key": k.token_hash}, read(200, 200, 200, 404), False),
    ("key_list", "GET", "/key/list", lambda r, k: {"team_id": a(r)}, ANYONE, False),
    ("key_block", "POST", "/key/block", lambda r, k: {"key": k.token_hash}, write(200, 200, 403, 404), True),
    ("key_unblock", "POST", "/key/unblock", lambda r, k: {"key": k.token_hash}, write(200, 200, 403, 404), False),
    ("key_regenerate", "POST", "/key/regenerate", lambda r, k: {"key": k.token_hash}, write(200, 200, 200, 404),
     True),
    ("key_regenerate_by_path", "POST", "/key/{key}/regenerate", lambda r, k: {}, write(200, 200, 200, 404), True),
    ("key_delete", "POST", "/key/delete", lambda r, k: {"keys": [k.token_hash]}, write(200, 200, 200, 404), True),
    ("team_new", "POST", "/team/new", lambda r, k: {"team_alias": "team-c"}, ADMINS, True),
    ("team_new_in_org", "POST", "/team/new", lambda r, k: {"team_alias": "team-d", "organization_id": org(r)},
     write(200, 403, 403, 403, olga=200), True),
    ("team_update", "POST", "/team/update", lambda r, k: {"team_id": a(r), "max_budget": 100}, ADMINS, True),
    ("team_info", "GET", "/team/info", lambda r, k: {"team_id": a(r)}, read(200, 200, 200, 404), False),
    ("team_list", "GET", "/team/list", lambda r, k: {}, ANYONE, False),
    ("team_delete", "POST", "/team/delete", lambda r, k: {"team_ids": [a(r)]}, ADMINS, True),
    ("team_block", "POST", "/team/block", lambda r, k: {"team_id": a(r)}, ADMINS, True),
    ("team_unblock", "POST", "/team/unblock", lambda r, k: {"team_id": a(r)}, ADMINS, False),
    ("team_model_add", "POST", "/team/model/add", lambda r, k: {"team_id": a(r), "models": ["gpt-x"]}, ADMINS,
     True),
    ("team_model_delete", "POST", "/team/model/delete", lambda r, k: {"team_id": a(r), "models": ["gpt-x"]},
     ADMINS, False),
    ("team_member_add", "POST", "/team/member_add",
     lambda r, k: {"team_id": a(r), "member": {"role": "user", "user_id": "bob"}}, write(200, 200, 403, 404), False),
    ("team_member_add_unseen_user", "POST", "/team/member_add",
     lambda r, k: {"team_id": a(r), "member": {"role": "user", "user_id": "carol"}}, write(200, 400, 403, 404),
     True),
    ("team_member_update", "POST", "/team/member_update",
     lambda r, k: {"team_id": a(r), "user_id": "bob", "role": "admin"}, write(200, 200, 403, 404), True),
    ("team_member_delete", "POST", "/team/member_delete", lambda r, k: {"team_id": a(r), "user_id": "bob"},
     write(200, 200, 403, 404), True),
    ("user_new", "POST", "/user/new", lambda r, k: {"user_id": "dave"}, ADMINS, True),
    ("user_info", "GET", "/user/info", lambda r, k: {"user_id": "bob"}, read(200, 200, 200, 404), False),
    ("user_update", "POST", "/user/update", lambda r, k: {"user_id": "bob", "max_budget": 1}, ADMINS, True),
    ("user_delete", "POST", "/user/delete", lambda r, k: {"user_ids": ["bob"]}, ADMINS, True),
    ("user_list", "GET", "/user/list", lambda r, k: {}, ANYONE, False),
    ("organization_new", "POST", "/organization/new", lambda r, k: {"organization_alias": "initech"}, ADMINS, True),
    ("organization_info", "GET", "/organization/info", lambda r, k: {"organization_id": org(r)},
     read(200, 403, 403, 403, olga=200), False),
    ("organization_info_of_another", "GET", "/organization/info",
     lambda r, k: {"organization_id": r.empty_org.organization_id}, read(200, 403, 403, 403, olga=404), False),
    ("organization_list", "GET", "/organization/list", lambda r, k: {}, read(200, 403, 403, 403, olga=200), False),
    ("organization_update", "PATCH", "/organization/update", lambda r, k: {"organization_id": org(r),
                                                                            "max_budget": 5}, ADMINS, True),
    ("organization_delete", "DELETE", "/organization/delete",
     lambda r, k: {"organization_ids": [r.empty_org.organization_id]}, ADMINS, True),
    ("organization_member_add", "POST", "/organization/member_add",
     lambda r, k: {"organization_id": org(r), "member": {"role": "internal_user", "user_id": "carol"}},
     write(200, 403, 403, 403, olga=400), True),  # olga may not see carol: as a user that does not exist
    ("organization_member_add_a_team_member", "POST", "/organization/member_add",
     lambda r, k: {"organization_id": org(r), "member": {"role": "internal_user", "user_id": "bob"}},
     write(200, 403, 403, 403, olga=200), True),
    ("organization_member_update", "PATCH", "/organization/member_update",
     lambda r, k: {"organization_id": org(r), "user_id": "alice", "role": "org_admin"},
     write(200, 403, 403, 403, olga=200), True),
    ("organization_member_delete", "DELETE", "/organization/member_delete",
     lambda r, k: {"organization_id": org(r), "user_id": "alice"}, write(200, 403, 403, 403, olga=200), True),
    ("budget_new", "POST", "/budget/new", lambda r, k: {"budget_id": "b-1", "max_budget": 1}, ADMINS, True),
    ("budget_update", "POST", "/budget/update", lambda r, k: {"budget_id": BUDGET_ID, "max_budget": 2}, ADMINS,
     True),
    ("budget_info", "POST", "/budget/info", lambda r, k: {"budgets": [BUDGET_ID]}, READERS, False),
    ("budget_settings", "GET", "/budget/settings", lambda r, k: {"budget_id": BUDGET_ID}, READERS, False),
    ("budget_list", "GET", "/budget/list", lambda r, k: {}, READERS, False),
    ("budget_delete", "POST", "/budget/delete", lambda r, k: {"id": BUDGET_ID}, ADMINS, True),
    *[case for prefix in ("end_user", "customer") for case in (
        (f"{prefix}_new", "POST", f"/{prefix}/new", lambda r, k: {"user_id": "cust-1"}, ADMINS, True),
        (f"{prefix}_info", "GET", f"/{prefix}/info", lambda r, k: {"end_user_id": END_USER_ID}, READERS, False),
        (f"{prefix}_update", "POST", f"/{prefix}/update", lambda r, k: {"user_id": END_USER_ID, "alias": "x"},
         ADMINS, True),
        (f"{prefix}_list", "GET", f"/{prefix}/list", lambda r, k: {}, READERS, False),
        (f"{prefix}_block", "POST", f"/{prefix}/block", lambda r, k: {"user_ids": [END_USER_ID]}, ADMINS, True),
        (f"{prefix}_unblock", "POST", f"/{prefix}/unblock", lambda r, k: {"user_ids": [END_USER_ID]}, ADMINS,
         False),
        (f"{prefix}_delete", "POST", f"/{prefix}/delete", lambda r, k: {"user_ids": [END_USER_ID]}, ADMINS, True))],
    ("model_new", "POST", "/model/new",
     lambda r, k: {"model_name": "m-new", "litellm_params": {"model": "mock/gpt-4o-mini"}}, ADMINS, True),
    ("model_update", "POST", "/model/update",
     lambda r, k: {"model_info": {"id": MODEL_ID}, "litellm_params": {"rpm": 5}}, ADMINS, True),
    ("model_update_by_path", "PATCH", f"/model/{MODEL_ID}/update", lambda r, k: {"litellm_params": {"rpm": 6}},
     ADMINS, True),
    ("model_delete", "POST", "/model/delete", lambda r, k: {"id": MODEL_ID}, ADMINS, True),
    ("model_info", "GET", "/model/info", lambda r, k: {}, ANYONE, False),
    ("model_info_v2", "GET", "/v2/model/info", lambda r, k: {}, ANYONE, False),
    ("model_group_info", "GET", "/model_group/info", lambda r, k: {}, ANYONE, False),
    ("spend_calculate", "POST", "/spend/calculate",
     lambda r, k: {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
     {**ANYONE, "viewer": 403}, False),  # a POST: viewer keys only read
    ("spend_logs", "GET", "/spend/logs", lambda r, k: {"team_id": a(r)}, ANYONE, False),
    ("team_daily_activity", "GET", "/team/daily/activity", lambda r, k: {**WINDOW, "team_ids": a(r)},
     read(200, 200, 200, 404), False),
    *[(path.strip("/").replace("/", "_"), "GET", path, lambda r, k: WINDOW, ANYONE, False) for path in (
        "/spend/logs/v2", "/spend/tags", "/global/spend", "/global/spend/logs", "/global/spend/keys",
        "/global/spend/models", "/global/spend/teams", "/global/spend/provider", "/global/spend/tags",
        "/global/spend/all_tag_names", "/global/spend/report", "/global/activity", "/global/activity/model",
        "/user/daily/activity", "/tag/daily/activity")],
]


def call(gateway: GatewayProcess, secret: str, method: str, path: str, payload: dict[str, Any]) -> httpx.Response:
    with client(gateway, secret) as http:
        if method == "GET":
            return http.get(path, params=payload)
        return http.request(method, path, json=payload)


@pytest.fixture
def roles(cast: Cast) -> Roles:
    return roles_for(cast)


@pytest.mark.parametrize("final", RUNS)
@pytest.mark.parametrize(("method", "path", "body", "rights", "changes"),
                         [pytest.param(m, p, b, e, c, id=f"{n}_case") for n, m, p, b, e, c in CASES])
def test_each_role_gets_exactly_its_rights(roles: Roles, gateway: GatewayProcess, method: str, path: str,
                                           body: Body, rights: Rights, changes: bool, final: str) -> None:
    bob = roles.cast.bob.user
    assert bob is not None
    for actor in RUNS[final]:
        if not User.objects.filter(pk=bob.pk).exists():
            break  # root deleted bob: nothing is left to act on
        services.team_member_add(team=roles.cast.team_a, user=bob, role="user")
        target, _ = make_key(bob, roles.cast.team_a, key_alias=f"target-for-{actor}")
        before = world_state()
        response = call(gateway, roles.secret(actor), method, path.format(key=target.token_hash), body(roles, target))
        assert response.status_code == rights[actor], (actor, response.text)
        if response.status_code != 200:
            assert world_state() == before, actor
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        elif changes:
            assert world_state() != before, f"{actor}: an allowed write changed nothing"


@pytest.mark.parametrize("actor", ["blocked", "expired", "hashed"])
def test_keys_that_must_not_work_are_401_everywhere(roles: Roles, gateway: GatewayProcess, actor: str) -> None:
    target = roles.cast.bob.key
    assert target is not None
    before = world_state()
    for name, method, path, body, _, _ in CASES:
        response = call(gateway, roles.secret(actor), method, path.format(key=target.token_hash), body(roles, target))
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"]["type"] == "authentication_error", name
    assert world_state() == before


def test_the_matrix_covers_every_operation_in_the_schema(gateway: GatewayProcess) -> None:
    schema = httpx.get(f"{gateway.url}/management/openapi.json", timeout=30).json()
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    covered = {(method, path.replace(MODEL_ID, "{model_id}")) for _, method, path, _, _, _ in CASES}
    # Each view answers the same for its second verb (LiteLLM takes POST and PATCH for a model's update).
    twins = {("PATCH", "/model/update"), ("POST", "/model/{model_id}/update")}
    assert operations - twins == covered, (sorted(operations - twins - covered), sorted(covered - operations))


VISIBLE_KEYS = {"root": {"alice", "bob", "mallory"}, "alice": {"alice", "bob"}, "bob": {"bob"},
                "mallory": {"mallory"}}
VISIBLE_TEAMS = {"root": {"team-a", "team-b"}, "alice": {"team-a"}, "bob": {"team-a"}, "mallory": {"team-b"}}


@pytest.mark.parametrize("actor", list(VISIBLE_KEYS))
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
    with httpx.Client(base_url=gateway.url, timeout=30) as anonymous:
        for _, method, path, _, _, _ in CASES:
            response = anonymous.request(method, path, headers={"Authorization": "Bearer sk-nope-nope-nope"})
            assert response.status_code == 401, path
            assert anonymous.request(method, path).status_code == 401, path
