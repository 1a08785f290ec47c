"""What a caller may not see answers exactly as what does not exist, and a taken custom secret is a clean 400.

Each probe sends one request twice from the same key: once naming a real object outside the key's view
(a user, team, key, alias, organization, budget, end user or model) and once naming a made-up one of the
same kind. The two answers must be the same status and, with the name swapped, the same body: otherwise
any key could find out which ids exist.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.routing.models import Deployment
from apps.teams.models import VirtualKey
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client, make_key
from tests.teams.management_roles import BUDGET_ID, END_USER_ID, MODEL_ID, roles_for

MSG = [{"role": "user", "content": "hi"}]
WINDOW = {"start_date": "2026-01-01", "end_date": "2026-01-31"}


@dataclass(frozen=True)
class World:
    cast: Cast
    secrets: dict[str, str]  # actor -> the secret it calls with
    real: dict[str, str]  # kind of target -> a real one outside the probing actors' view

    def team_b(self) -> str:
        return self.cast.team_b.team_id


@pytest.fixture
def world(cast: Cast) -> World:
    """The matrix world, eve (a plain member of team B) and a key of bob's that may call one model only."""
    roles = roles_for(cast)
    eve_secret = roles.eve.secret
    _, narrow = make_key(cast.bob.user, cast.team_a, key_alias="bob-narrow", allowed_models=["gpt-4o-mini"])
    Deployment.objects.filter(config_id=MODEL_ID).update(input_cost_per_token=Decimal("0.5"))
    bob_key = cast.bob.key
    assert bob_key is not None
    return World(cast=cast,
                 secrets={"eve": eve_secret, "olga": roles.olga.secret, "mallory": cast.mallory.secret, "alice": cast.alice.secret,
                          "bob": cast.bob.secret, "narrow": narrow},
                 real={"user": "bob", "invisible_user": "carol", "teammate": "mallory",
                       "other_org": roles.empty_org.organization_id, "email": "bob@example.com",
                       "team": cast.team_a.team_id, "key_hash": bob_key.token_hash, "key_secret": cast.bob.secret,
                       "alias": "bob-key", "organization": cast.org.organization_id, "budget": BUDGET_ID,
                       "end_user": END_USER_ID, "model_id": MODEL_ID, "model": "matrix-model",
                       "alice_key": cast.alice.key.token_hash})  # type: ignore[union-attr]


FAKE = {"user": "nobody-at-all", "invisible_user": "nobody-at-all", "teammate": "nobody-at-all",
        "other_org": "org-made-up", "email": "nobody@example.com",
        "team": "team-made-up", "key_hash": hashlib.sha256(b"made-up").hexdigest(),
        "key_secret": f"sk-{secrets.token_urlsafe(32)}", "alias": "made-up-alias", "organization": "org-made-up",
        "budget": "budget-made-up", "end_user": "customer-made-up", "model_id": "model-made-up",
        "model": "model-made-up", "alice_key": hashlib.sha256(b"also-made-up").hexdigest()}

Request = Callable[[World, str], tuple[str, str, dict[str, Any]]]


def get(path: str, **params: Any) -> Request:
    return lambda w, t: ("GET", path.format(t=t), {k: str(v).format(t=t) for k, v in params.items()})


def post(path: str, body: Callable[[World, str], dict[str, Any]], method: str = "POST") -> Request:
    return lambda w, t: (method, path.format(t=t), body(w, t))


# (actor, kind of target, request)
PROBES: list[tuple[str, str, Request]] = [
    # users
    ("eve", "user", post("/key/generate", lambda w, t: {"user_id": t})),
    ("mallory", "user", post("/key/generate", lambda w, t: {"user_id": t})),
    ("mallory", "user", post("/key/generate", lambda w, t: {"team_id": w.team_b(), "user_id": t})),
    ("alice", "invisible_user", post("/key/generate", lambda w, t: {"team_id": w.cast.team_a.team_id,
                                                                    "user_id": t})),
    ("eve", "user", get("/user/info", user_id="{t}")),
    ("mallory", "user", get("/user/info", user_id="{t}")),
    ("alice", "invisible_user", get("/user/info", user_id="{t}")),
    ("mallory", "user", post("/team/member_add", lambda w, t: {"team_id": w.team_b(),
                                                               "member": {"user_id": t, "role": "user"}})),
    ("mallory", "email", post("/team/member_add", lambda w, t: {"team_id": w.team_b(),
                                                                "member": {"user_email": t, "role": "user"}})),
    ("mallory", "user", post("/team/member_update", lambda w, t: {"team_id": w.team_b(), "user_id": t,
                                                                  "role": "admin"})),
    ("mallory", "user", post("/team/member_delete", lambda w, t: {"team_id": w.team_b(), "user_id": t})),
    ("mallory", "user", get("/key/list", user_id="{t}")),
    ("mallory", "user", get("/team/list", user_id="{t}")),
    ("eve", "teammate", get("/team/list", user_id="{t}")),  # a plain member may not list who its teammates are
    ("mallory", "user", get("/spend/logs", user_id="{t}")),
    # teams
    *[(actor, "team", request) for actor in ("eve", "mallory") for request in (
        get("/team/info", team_id="{t}"),
        post("/key/generate", lambda w, t: {"team_id": t}),
        post("/team/member_add", lambda w, t: {"team_id": t, "member": {"user_id": "eve", "role": "user"}}),
        post("/team/member_update", lambda w, t: {"team_id": t, "user_id": "bob", "role": "admin"}),
        post("/team/member_delete", lambda w, t: {"team_id": t, "user_id": "bob"}),
        post("/team/update", lambda w, t: {"team_id": t, "max_budget": 1}),
        get("/key/list", team_id="{t}"),
        get("/spend/logs", team_id="{t}"),
        get("/team/daily/activity", team_ids="{t}", **WINDOW))],
    # keys, by hash and by secret
    *[(actor, kind, request) for actor in ("eve", "mallory") for kind in ("key_hash", "key_secret") for request in (
        get("/key/info", key="{t}"),
        post("/key/update", lambda w, t: {"key": t, "max_budget": 1}),
        post("/key/block", lambda w, t: {"key": t}),
        post("/key/unblock", lambda w, t: {"key": t}),
        post("/key/regenerate", lambda w, t: {"key": t}),
        post("/key/{t}/regenerate", lambda w, t: {}),
        post("/key/delete", lambda w, t: {"keys": [t]}),
        get("/spend/logs", api_key="{t}"))],
    ("mallory", "key_hash", get("/key/list", key_hash="{t}")),
    ("bob", "alice_key", get("/key/info", key="{t}")),
    ("bob", "alice_key", post("/key/update", lambda w, t: {"key": t, "max_budget": 1})),
    # aliases
    ("mallory", "alias", post("/key/delete", lambda w, t: {"key_aliases": [t]})),
    ("mallory", "alias", get("/key/list", key_alias="{t}")),
    ("mallory", "alias", get("/spend/logs/v2", key_alias="{t}", **WINDOW)),
    # organizations, budgets, end users
    *[("olga", "other_org", request) for request in (  # an org admin, about an organization it does not run
        get("/organization/info", organization_id="{t}"),
        get("/organization/list", org_id="{t}"),
        get("/team/list", organization_id="{t}"),
        post("/team/new", lambda w, t: {"team_alias": "x", "organization_id": t}),
        post("/organization/member_add", lambda w, t: {"organization_id": t,
                                                       "member": [{"user_id": "bob", "role": "internal_user"}]}),
        post("/organization/member_update", lambda w, t: {"organization_id": t, "user_id": "bob"}, "PATCH"),
        post("/organization/member_delete", lambda w, t: {"organization_id": t, "user_id": "bob"}, "DELETE"),
        post("/key/generate", lambda w, t: {"organization_id": t}))],
    ("olga", "invisible_user", get("/user/info", user_id="{t}")),
    ("alice", "organization", get("/organization/info", organization_id="{t}")),
    ("mallory", "organization", get("/team/list", organization_id="{t}")),
    ("mallory", "organization", get("/key/list", organization_id="{t}")),
    ("mallory", "organization", post("/key/generate", lambda w, t: {"organization_id": t})),
    ("mallory", "budget", post("/budget/info", lambda w, t: {"budgets": [t]})),
    ("mallory", "budget", get("/budget/settings", budget_id="{t}")),
    ("mallory", "budget", post("/key/generate", lambda w, t: {"budget_id": t})),
    ("mallory", "end_user", get("/end_user/info", end_user_id="{t}")),
    ("mallory", "end_user", get("/customer/info", end_user_id="{t}")),
    # models the key may not call
    ("narrow", "model_id", get("/model/info", litellm_model_id="{t}")),
    ("narrow", "model_id", get("/v2/model/info", modelId="{t}")),
    ("narrow", "model", get("/v2/model/info", model="{t}")),
    ("narrow", "model", get("/model_group/info", model_group="{t}")),
    ("narrow", "model", post("/spend/calculate", lambda w, t: {"model": t, "messages": MSG})),
    ("narrow", "model", post("/spend/calculate", lambda w, t: {"completion_response": {
        "model": t, "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}}})),
    ("narrow", "model", get("/v1/models/{t}")),
]


def answer(gateway: GatewayProcess, world: World, actor: str, request: Request, target: str) -> tuple[int, str]:
    """The status and the body with the target's name replaced, so a real and a made-up target compare."""
    method, path, payload = request(world, target)
    with client(gateway, world.secrets[actor]) as http:
        response = http.get(path, params=payload) if method == "GET" else http.request(method, path, json=payload)
    return response.status_code, response.text.replace(target, "<target>")


@pytest.mark.parametrize(("actor", "kind", "request_for"),
                         [pytest.param(a, k, r, id=f"{i:02d}_{a}_{k}_case") for i, (a, k, r) in enumerate(PROBES)])
def test_a_real_target_outside_the_view_answers_as_a_made_up_one(world: World, gateway: GatewayProcess,
                                                                  actor: str, kind: str, request_for: Request) -> None:
    real = answer(gateway, world, actor, request_for, world.real[kind])
    fake = answer(gateway, world, actor, request_for, FAKE[kind])
    assert real == fake
    assert real[0] != 500


def test_a_member_key_cannot_find_out_which_user_ids_exist(world: World, gateway: GatewayProcess) -> None:
    """The finding: a member of team B got 403 for a user of team A and 400 for a made-up user."""
    with client(gateway, world.secrets["eve"]) as http:
        real = http.post("/key/generate", json={"user_id": "bob"})
        fake = http.post("/key/generate", json={"user_id": "nobody-at-all"})
    assert (real.status_code, fake.status_code) == (403, 403)
    assert real.json() == fake.json() == {"error": {
        "message": "A member's key can only create keys for itself.", "type": "permission_error",
        "param": "user_id", "code": "permission_denied"}}


def test_a_callers_own_teams_and_a_team_admins_members_still_filter_the_team_list(world: World,
                                                                                 gateway: GatewayProcess) -> None:
    for actor, user_id, teams in (("eve", "eve", [world.team_b()]), ("mallory", "eve", [world.team_b()]),
                                  ("alice", "bob", [world.cast.team_a.team_id]), ("alice", "eve", [])):
        with client(gateway, world.secrets[actor]) as http:
            listed = http.get("/team/list", params={"user_id": user_id}).json()
        assert [team["team_id"] for team in listed] == teams, (actor, user_id)


def server_errors(gateway: GatewayProcess, since: int) -> bytes:
    with gateway.log_path.open("rb") as log:
        log.seek(since)
        return b"\n".join(line for line in log.read().splitlines() if b"Internal Server Error" in line)


def test_a_taken_custom_key_is_a_400_that_names_no_owner(world: World, gateway: GatewayProcess) -> None:
    """The finding: another key's secret as `key` or `new_key` answered 500 and logged a server error."""
    cast, since, keys = world.cast, gateway.log_path.stat().st_size, VirtualKey.objects.count()
    alice_before = VirtualKey.objects.get(pk=cast.alice.key.pk).token_hash  # type: ignore[union-attr]
    with client(gateway, cast.root.secret) as http:
        generated = http.post("/key/generate", json={"key": cast.bob.secret, "team_id": cast.team_b.team_id})
    with client(gateway, cast.alice.secret) as http:
        regenerated = http.post("/key/regenerate", json={"key": cast.alice.secret, "new_key": cast.bob.secret})
        by_path = http.post(f"/key/{cast.alice.secret}/regenerate", json={"new_key": cast.mallory.secret})
    for response, param in ((generated, "key"), (regenerated, "new_key"), (by_path, "new_key")):
        assert response.status_code == 400, response.text
        assert response.json() == {"error": {"message": f"{param}: this key is already in use; choose another secret.",
                                              "type": "invalid_request_error", "param": param, "code": "key_taken"}}
    assert server_errors(gateway, since) == b""
    assert VirtualKey.objects.count() == keys
    assert VirtualKey.objects.get(pk=cast.alice.key.pk).token_hash == alice_before  # type: ignore[union-attr]
    with client(gateway, cast.bob.secret) as http:
        assert http.get("/key/info").json()["info"]["key_alias"] == "bob-key"  # still bob's


def test_one_of_many_racing_requests_gets_a_custom_key_and_the_rest_a_400(cast: Cast, gateway: GatewayProcess) -> None:
    secret, since = f"sk-{secrets.token_urlsafe(32)}", gateway.log_path.stat().st_size

    def generate(_: int) -> int:
        with httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {cast.root.secret}"},
                          timeout=30) as http:
            return http.post("/key/generate", json={"key": secret}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(generate, range(8)))
    assert statuses == [200] + [400] * 7
    assert server_errors(gateway, since) == b""


@pytest.mark.parametrize(("secret", "message"), [
    pytest.param("sk-1234", "key: A custom key must be at least 32 characters long, so it cannot be guessed.",
                 id="short_case"),
    pytest.param("pk-" + "a" * 40, "key: A custom key must start with sk-.", id="prefix_case"),
    pytest.param("sk-" + "a" * 30 + "!", "key: A custom key may hold only letters, digits, '-' and '_' after sk-.",
                 id="characters_case"),
])
def test_a_weak_custom_key_is_refused_with_a_clear_400(cast: Cast, gateway: GatewayProcess, secret: str,
                                                       message: str) -> None:
    keys = VirtualKey.objects.count()
    with client(gateway, cast.root.secret) as http:
        generated = http.post("/key/generate", json={"key": secret})
        regenerated = http.post("/key/regenerate", json={"key": cast.bob.secret, "new_key": secret})
    assert (generated.status_code, regenerated.status_code) == (400, 400)
    assert generated.json()["error"]["message"] == message
    assert regenerated.json()["error"]["message"] == message.replace("key:", "new_key:", 1)
    assert VirtualKey.objects.count() == keys
    assert VirtualKey.objects.get(pk=cast.bob.key.pk).token_hash == cast.bob.key.token_hash  # type: ignore[union-attr]


def test_a_custom_key_of_32_characters_works(cast: Cast, gateway: GatewayProcess) -> None:
    secret = "sk-" + secrets.token_hex(15)[:29]
    with client(gateway, cast.root.secret) as http:
        created = http.post("/key/generate", json={"key": secret}).json()
    assert (created["key"], len(secret)) == (secret, 32)
    with client(gateway, secret) as http:
        assert http.get("/key/info").json()["key"] == hashlib.sha256(secret.encode()).hexdigest()


# (actor, path, the owner of the key made or renamed: a team admin's new key is the team's)
ALIAS_WRITES: list[tuple[str, str, str | None]] = [
    ("eve", "/key/generate", "eve"), ("mallory", "/key/generate", None), ("mallory", "/key/update", "mallory"),
    ("mallory", "/key/regenerate", "mallory")]


@pytest.mark.parametrize(("actor", "path", "owner"), [pytest.param(a, p, o, id=f"{a}{p.replace('/', '_')}_case")
                                                      for a, p, o in ALIAS_WRITES])
def test_another_teams_alias_is_as_free_as_a_made_up_one(world: World, gateway: GatewayProcess, actor: str,
                                                         path: str, owner: str | None) -> None:
    """The finding: `key_alias: "bob-key"` from team B answered 400 "taken" and a made-up alias 200, on every
    write that sets an alias. Both now make (or rename) a key of the caller's own, answered alike."""
    answers = []
    for alias in (world.real["alias"], FAKE["alias"]):
        own, _ = make_key(world.cast.mallory.user, world.cast.team_b)  # a fresh key of team B to rename
        body: dict[str, Any] = {"key_alias": alias} if path == "/key/generate" else {"key": own.token_hash,
                                                                                   "key_alias": alias}
        with client(gateway, world.secrets[actor]) as http:
            response = http.post(path, json=body)
        assert response.status_code == 200, response.text
        info = response.json()
        answers.append((response.status_code, info["key_alias"] == alias, info["team_id"], info["user_id"]))
    assert answers[0] == answers[1] == (200, True, world.team_b(), owner)
    assert sorted(VirtualKey.objects.filter(key_alias="bob-key").values_list("team_id", flat=True)) == \
        sorted([world.cast.team_a.team_id, world.team_b()])


LONG_MASTER_KEY = "sk-test-master-long-enough-to-be-a-custom-key-0123"  # 32+ characters: a custom key could be it


def test_the_master_key_and_a_secret_in_its_grace_period_are_taken(cast: Cast, tmp_path: Path) -> None:
    """Both branches of `secret_taken` besides another key's secret: the generic `400 key_taken`, nothing made.
    The gateway's master key passes the custom-key rules, so only `secret_taken` can refuse it."""
    gateway = GatewayProcess(extra_env={"TOLLGATE_MASTER_KEY": LONG_MASTER_KEY}, log_dir=tmp_path)
    try:
        master_key_and_grace_period_refused(cast, gateway)
    finally:
        gateway.stop()


def master_key_and_grace_period_refused(cast: Cast, gateway: GatewayProcess) -> None:
    with client(gateway, LONG_MASTER_KEY) as http:
        rotated = http.post("/key/regenerate", json={"key": cast.bob.secret, "grace_period": "1h"})
        assert rotated.status_code == 200, rotated.text
        keys, since = VirtualKey.objects.count(), gateway.log_path.stat().st_size
        answers = [(http.post("/key/generate", json={"key": secret}), "key")
                   for secret in (LONG_MASTER_KEY, cast.bob.secret)]
        answers += [(http.post("/key/regenerate", json={"key": cast.alice.secret, "new_key": secret}), "new_key")
                    for secret in (LONG_MASTER_KEY, cast.bob.secret)]
    for response, param in answers:
        assert (response.status_code, response.json()) == (400, {"error": {
            "message": f"{param}: this key is already in use; choose another secret.",
            "type": "invalid_request_error", "param": param, "code": "key_taken"}}), response.text
    assert VirtualKey.objects.count() == keys
    assert server_errors(gateway, since) == b""
    with client(gateway, cast.bob.secret) as http:  # still the rotated key's old secret, inside its grace period
        assert http.get("/key/info").json()["info"]["key_alias"] == "bob-key"
    with client(gateway, cast.alice.secret) as http:
        assert http.get("/key/info").json()["info"]["key_alias"] == "alice-key"  # alice's key was not rotated
