"""The management API driven as a LiteLLM script drives it: its fields, its ids, its answer shapes, its errors."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from apps.teams.models import Budget, EndUser, OrganizationMembership, Team, TeamMembership, User, VirtualKey
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client

# One value for every field of LiteLLM's GenerateKeyRequest (litellm/proxy/_types.py), as a script sends them.
GENERATE_KEY = {
    "key_alias": "eng-ci", "duration": "30d", "models": ["gpt-4o"], "spend": 0, "max_budget": 10, "user_id": "bob",
    "team_id": "engineering", "max_parallel_requests": 4, "metadata": {"env": "ci"}, "tpm_limit": 1000,
    "rpm_limit": 60, "budget_duration": "1mo", "allowed_cache_controls": ["no-cache"], "config": {"a": 1},
    "permissions": {"get_spend_routes": True}, "model_max_budget": {"gpt-4o": 5.0},
    "model_rpm_limit": {"gpt-4o": 30}, "model_tpm_limit": {"gpt-4o": 500}, "guardrails": ["pii"],
    "policies": ["p1"], "prompts": ["pr1"], "blocked": False, "aliases": {"gpt-4": "gpt-4o"},
    "object_permission": {"mcp_servers": ["s1"], "vector_stores": ["v1"]}, "key": "sk-engineering-ci-0001-abcdefghijklmn",
    "budget_id": "monthly-10", "tags": ["ci", "eng"], "enforced_params": ["user"], "allowed_routes": ["/v1/chat/completions"],
    "allowed_passthrough_routes": ["/anthropic"],
    "allowed_vector_store_indexes": [{"index_name": "docs", "index_permissions": ["read"]}],
    "rpm_limit_type": "best_effort_throughput", "tpm_limit_type": "guaranteed_throughput",
    "router_settings": {"num_retries": 2}, "soft_budget": 8, "send_invite_email": False, "key_type": "llm_api",
    "auto_rotate": False, "rotation_interval": "30d", "organization_id": "acme-org",
}
NEW_TEAM = {
    "team_alias": "Engineering", "team_id": "engineering", "organization_id": "acme-org", "admins": [],
    "members": [], "members_with_roles": [{"role": "admin", "user_id": "alice"}], "team_member_permissions": [],
    "metadata": {"cost_center": "42"}, "tpm_limit": 100000, "rpm_limit": 600, "max_budget": 500, "soft_budget": 400,
    "budget_duration": "30d", "models": ["gpt-4o", "claude-*"], "blocked": False, "router_settings": {},
    "model_aliases": {"fast": "gpt-4o-mini"}, "tags": ["eng"], "guardrails": [], "policies": [], "prompts": [],
    "object_permission": {"agents": ["a1"]}, "allowed_passthrough_routes": [], "secret_manager_settings": {},
    "model_rpm_limit": {"gpt-4o": 100}, "rpm_limit_type": "best_effort_throughput",
    "tpm_limit_type": "best_effort_throughput", "model_tpm_limit": {"gpt-4o": 10000}, "team_member_budget": 50,
    "team_member_rpm_limit": 10, "team_member_tpm_limit": 1000, "team_member_key_duration": "7d",
    "allowed_vector_store_indexes": [],
}


@pytest.fixture
def litellm_ids(cast: Cast, http: httpx.Client) -> Cast:
    """Organization `acme-org`, budget `monthly-10` and team `engineering`, made over HTTP with chosen ids."""
    assert http.post("/organization/new", json={"organization_id": "acme-org", "organization_alias": "Acme",
                                                "models": ["gpt-4o"], "max_budget": 1000}).status_code == 200
    assert http.post("/budget/new", json={"budget_id": "monthly-10", "max_budget": 10,
                                          "budget_duration": "30d"}).status_code == 200
    created = http.post("/team/new", json=NEW_TEAM)
    assert created.status_code == 200, created.text
    return cast


def test_key_generate_takes_every_litellm_field_and_answers_them(litellm_ids: Cast, http: httpx.Client) -> None:
    http.post("/team/member_add", json={"team_id": "engineering", "member": {"role": "user", "user_id": "bob"}})
    created = http.post("/key/generate", json=GENERATE_KEY)
    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["key"], body["key_alias"], body["team_id"], body["user_id"], body["organization_id"],
            body["budget_id"]) == ("sk-engineering-ci-0001-abcdefghijklmn", "eng-ci", "engineering", "bob", "acme-org", "monthly-10")
    info = http.get("/key/info", params={"key": body["key"]}).json()
    assert set(info) == {"key", "info"} and info["key"] == body["token"]
    got = info["info"]
    for name in ("aliases", "model_max_budget", "model_rpm_limit", "model_tpm_limit", "tags",
                 "permissions", "config", "guardrails", "enforced_params", "router_settings", "key_type",
                 "allowed_vector_store_indexes", "rotation_interval"):
        assert got[name] == GENERATE_KEY[name], name
    assert got["allowed_routes"] == ["llm_api_routes"]  # key_type llm_api writes them, as LiteLLM's handle_key_type
    assert got["object_permission"] == {"mcp_servers": ["s1"], "vector_stores": ["v1"]}
    assert (got["max_budget"], got["soft_budget"], got["metadata"]["tags"]) == (10.0, 8.0, ["ci", "eng"])
    key = VirtualKey.objects.get(key_alias="eng-ci")
    assert (key.team.team_alias, key.user.username, key.budget.budget_id) == ("Engineering", "bob", "monthly-10")


@pytest.mark.parametrize(("path", "body", "param"), [
    pytest.param("/key/generate", {"max_budget": 1, "budget": 2}, "budget", id="key_generate_case"),
    pytest.param("/key/update", {"key": "sk-x", "team_alias": "x"}, "team_alias", id="key_update_case"),
    pytest.param("/team/new", {"team_alias": "x", "key_alias": "y"}, "key_alias", id="team_new_case"),
    pytest.param("/team/update", {"team_id": "x", "members_with_roles": []}, "members_with_roles",
                 id="team_update_case"),
    pytest.param("/user/new", {"user_id": "x", "organization_id": "o"}, "organization_id", id="user_new_case"),
    pytest.param("/budget/new", {"budget_id": "x", "spend": 1}, "spend", id="budget_new_case"),
    # not `models`: LiteLLM 1.110 added it to NewCustomerRequest; every field here is in neither 1.80.0 nor 1.110.2
    pytest.param("/customer/new", {"user_id": "x", "team_id": "t"}, "team_id", id="customer_new_case"),
])
def test_a_field_litellm_lacks_is_400_naming_it(cast: Cast, http: httpx.Client, path: str, body: dict[str, Any],
                                                param: str) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_client_chosen_ids_name_teams_users_and_organizations_everywhere(litellm_ids: Cast,
                                                                        http: httpx.Client) -> None:
    user = http.post("/user/new", json={"user_id": "dev-7", "user_email": "dev7@example.com",
                                        "teams": [{"team_id": "engineering", "user_role": "admin",
                                                   "max_budget_in_team": 12}],
                                        "organizations": ["acme-org"], "user_alias": "Dev Seven"}).json()
    assert (user["user_id"], user["teams"], user["user_alias"]) == ("dev-7", ["engineering"], "Dev Seven")
    assert user["key"].startswith("sk-")
    team = http.get("/team/info", params={"team_id": "engineering"}).json()
    assert set(team) == {"team_id", "team_info", "keys", "team_memberships"}
    assert (team["team_id"], team["team_info"]["organization_id"], team["team_info"]["team_alias"]) == (
        "engineering", "acme-org", "Engineering")
    assert {(m["user_id"], m["role"]) for m in team["team_memberships"]} == {("alice", "admin"), ("dev-7", "admin")}
    info = http.get("/user/info", params={"user_id": "dev-7"}).json()
    assert set(info) == {"user_id", "user_info", "keys", "teams"}
    assert ([t["team_id"] for t in info["teams"]], [k["user_id"] for k in info["keys"]]) == (["engineering"],
                                                                                           ["dev-7"])
    assert OrganizationMembership.objects.get(user_id="dev-7").organization_id == "acme-org"
    assert TeamMembership.objects.get(user_id="dev-7").budget.max_budget == 12  # type: ignore[union-attr]
    assert http.post("/team/new", json={"team_id": "engineering"}).json()["error"]["param"] == "team_id"


def test_default_ids_are_uuids(cast: Cast, http: httpx.Client) -> None:
    team = http.post("/team/new", json={"team_alias": "anonymous"}).json()
    org = http.post("/organization/new", json={"organization_alias": "no-id"}).json()
    budget = http.post("/budget/new", json={"max_budget": 3}).json()
    by_email = http.post("/user/new", json={"user_email": "dee@example.com"}).json()
    bare = http.post("/user/new", json={}).json()
    for value in (team["team_id"], org["organization_id"], budget["budget_id"], by_email["user_id"], bare["user_id"]):
        assert len(value) == 36 and value.count("-") == 4
    assert (by_email["user_email"], len({by_email["user_id"], bare["user_id"]})) == ("dee@example.com", 2)


def test_key_list_pages_filters_and_sorts_as_litellm(cast: Cast, http: httpx.Client) -> None:
    for n in range(5):
        http.post("/key/generate", json={"team_id": cast.team_b.team_id, "key_alias": f"page-{n}",
                                         "max_budget": n})
    first = http.get("/key/list", params={"team_id": cast.team_b.team_id, "size": 2, "page": 1,
                                          "sort_by": "max_budget", "sort_order": "asc",
                                          "return_full_object": "true"}).json()
    assert (first["total_count"], first["current_page"], first["total_pages"]) == (6, 1, 3)
    assert [k["key_alias"] for k in first["keys"]] == ["page-0", "page-1"]
    last = http.get("/key/list", params={"team_id": cast.team_b.team_id, "size": 2, "page": 3,
                                         "sort_by": "max_budget", "sort_order": "asc"}).json()
    assert last["keys"] == [VirtualKey.objects.get(key_alias=a).token_hash for a in ("page-4", "mallory-key")]
    by_alias = http.get("/key/list", params={"key_alias": "page-2", "expand": "user"}).json()["keys"]
    assert [(k["key_alias"], k["user"]) for k in by_alias] == [("page-2", None)]
    token = VirtualKey.objects.get(key_alias="page-3").token_hash
    assert http.get("/key/list", params={"key_hash": token}).json()["keys"] == [token]
    assert http.get("/key/list", params={"size": 101}).status_code == 400


def test_user_list_pages_as_litellm(cast: Cast, http: httpx.Client) -> None:
    page = http.get("/user/list", params={"page": 2, "page_size": 2, "sort_by": "user_id"}).json()
    assert (page["total"], page["page"], page["page_size"], page["total_pages"]) == (4, 2, 2, 2)
    assert [u["user_id"] for u in page["users"]] == ["carol", "mallory"]
    members = http.get("/user/list", params={"team": cast.team_a.team_id, "sort_by": "user_id"}).json()
    assert [u["user_id"] for u in members["users"]] == ["alice", "bob"]


def test_team_members_models_and_blocking(cast: Cast, http: httpx.Client, gateway: GatewayProcess) -> None:
    team_id = cast.team_a.team_id
    updated = http.post("/team/member_update", json={"team_id": team_id, "user_id": "bob", "role": "admin",
                                                     "max_budget_in_team": 2.5, "rpm_limit": 9}).json()
    assert updated == {"team_id": team_id, "user_id": "bob", "user_email": "bob@example.com",
                       "max_budget_in_team": 2.5, "tpm_limit": None, "rpm_limit": 9}
    member = TeamMembership.objects.get(team=cast.team_a, user_id="bob")
    assert (member.role, member.budget.max_budget, member.budget.rpm_limit) == ("admin", 2.5, 9)
    http.post("/team/model/add", json={"team_id": team_id, "models": ["gpt-4o", "claude-*"]})
    removed = http.post("/team/model/delete", json={"team_id": team_id, "models": ["gpt-4o"]}).json()
    assert removed["models"] == ["claude-*"]
    assert http.post("/team/block", json={"team_id": team_id}).json()["blocked"] is True
    with client(gateway, cast.bob.secret) as bob:
        assert bob.get("/key/info", params={"key": cast.bob.secret}).status_code == 401
    assert http.post("/team/unblock", json={"team_id": team_id}).json()["blocked"] is False
    listed = http.get("/team/list", params={"organization_id": cast.org.organization_id}).json()
    assert [(t["team_id"], len(t["keys"]), len(t["team_memberships"])) for t in listed] == [(team_id, 2, 2)]


def test_organizations_at_litellms_methods(cast: Cast, http: httpx.Client) -> None:
    org_id = cast.org.organization_id
    patched = http.patch("/organization/update", json={"organization_id": org_id, "organization_alias": "Acme Inc",
                                                       "max_budget": 5})
    assert (patched.status_code, patched.json()["organization_alias"]) == (200, "Acme Inc")
    added = http.post("/organization/member_add", json={"organization_id": org_id, "max_budget_in_organization": 7,
                                                        "member": [{"role": "org_admin", "user_id": "carol"}]}).json()
    assert [(m["user_id"], m["user_role"]) for m in added["updated_organization_memberships"]] == [
        ("carol", "org_admin")]
    http.patch("/organization/member_update", json={"organization_id": org_id, "user_id": "carol",
                                                    "role": "internal_user"})
    listed = http.get("/organization/list", params={"org_alias": "acme"}).json()
    assert [(o["organization_id"], [m["user_role"] for m in o["members"]]) for o in listed] == [
        (org_id, ["internal_user"])]
    assert http.request("DELETE", "/organization/member_delete", json={"organization_id": org_id,
                                                                       "user_id": "carol"}).status_code == 200
    refused = http.request("DELETE", "/organization/delete", json={"organization_ids": [org_id]})
    assert (refused.status_code, refused.json()["error"]["param"]) == (400, "organization_ids")
    lonely = http.post("/organization/new", json={"organization_id": "empty", "organization_alias": "Empty"})
    assert lonely.status_code == 200
    gone = http.request("DELETE", "/organization/delete", json={"organization_ids": ["empty"]}).json()
    assert [o["organization_id"] for o in gone] == ["empty"]
    assert http.get("/organization/info", params={"organization_id": "empty"}).status_code == 404


def test_budgets_round_trip(cast: Cast, http: httpx.Client) -> None:
    made = http.post("/budget/new", json={"budget_id": "tier-1", "max_budget": 20, "rpm_limit": 5,
                                          "model_max_budget": {"gpt-4o": {"max_budget": 1}}}).json()
    assert (made["budget_id"], made["max_budget"], made["rpm_limit"]) == ("tier-1", 20.0, 5)
    http.post("/budget/update", json={"budget_id": "tier-1", "max_budget": 25, "budget_duration": "1d"})
    [info] = http.post("/budget/info", json={"budgets": ["tier-1"]}).json()
    assert (info["max_budget"], info["budget_duration"], info["budget_reset_at"] is not None) == (25.0, "1d", True)
    settings = {s["field_name"]: s["field_value"] for s in
                http.get("/budget/settings", params={"budget_id": "tier-1"}).json()}
    assert (settings["max_budget"], settings["rpm_limit"]) == (25.0, 5)
    assert [b["budget_id"] for b in http.get("/budget/list").json()] == ["tier-1"]
    assert http.post("/budget/delete", json={"id": "tier-1"}).json()["budget_id"] == "tier-1"
    assert not Budget.objects.exists()
    assert http.post("/budget/info", json={"budgets": ["tier-1"]}).status_code == 404


@pytest.mark.parametrize("prefix", ["/end_user", "/customer"])
def test_end_users_under_both_litellm_names(cast: Cast, http: httpx.Client, prefix: str) -> None:
    made = http.post(f"{prefix}/new", json={"user_id": "cust-9", "alias": "Customer 9", "max_budget": 3,
                                            "allowed_model_region": "eu", "default_model": "gpt-4o"}).json()
    assert (made["user_id"], made["alias"], made["litellm_budget_table"]["max_budget"]) == ("cust-9", "Customer 9",
                                                                                            3.0)
    assert http.post(f"{prefix}/new", json={"user_id": "x", "max_budget": 1, "budget_id": "b"}).status_code == 400
    http.post(f"{prefix}/update", json={"user_id": "cust-9", "max_budget": 4})
    info = http.get(f"{prefix}/info", params={"end_user_id": "cust-9"}).json()
    assert (info["litellm_budget_table"]["max_budget"], info["allowed_model_region"]) == (4.0, "eu")
    assert http.post(f"{prefix}/block", json={"user_ids": ["cust-9", "cust-new"]}).json() == {
        "blocked_users": ["cust-9", "cust-new"]}
    assert http.post(f"{prefix}/unblock", json={"user_ids": ["cust-9"]}).json() == {"blocked_users": ["cust-new"]}
    assert [(e["user_id"], e["blocked"]) for e in http.get(f"{prefix}/list").json()] == [("cust-9", False),
                                                                                        ("cust-new", True)]
    deleted = http.post(f"{prefix}/delete", json={"user_ids": ["cust-9"]}).json()
    assert deleted["deleted_customers"] == ["cust-9"]
    assert list(EndUser.objects.values_list("user_id", flat=True)) == ["cust-new"]
    missing = http.get(f"{prefix}/info", params={"end_user_id": "cust-9"})
    assert (missing.status_code, missing.json()["error"]["param"]) == (404, "end_user_id")


def test_key_regenerate_at_the_path_with_the_key(cast: Cast, http: httpx.Client) -> None:
    old = cast.bob.secret
    fresh = http.post(f"/key/{old}/regenerate", json={"key_alias": "bob-rotated"}).json()
    key = VirtualKey.objects.get(pk=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (fresh["key_alias"], key.rotation_count, key.last_rotation_at is not None) == ("bob-rotated", 1, True)
    assert http.get("/key/info", params={"key": old}).status_code == 404



def test_a_taken_alias_is_a_400_on_every_write_and_a_keys_own_alias_is_not(cast: Cast, http: httpx.Client) -> None:
    """Aliases are unique per owner (bob's keys in team A here); renaming a key to the alias it has passes."""
    team_a = cast.team_a.team_id
    spare = http.post("/key/generate", json={"user_id": "bob", "team_id": team_a, "key_alias": "bob-spare"}).json()
    taken = {"error": {"message": "key_alias: 'bob-key' is taken by another key of the same user and team; "
                                  "choose another.", "type": "invalid_request_error", "param": "key_alias",
                       "code": "key_alias_taken"}}
    before = sorted(VirtualKey.objects.values_list("token_hash", "key_alias"))
    for path, body in (("/key/generate", {"user_id": "bob", "team_id": team_a}),
                       ("/key/update", {"key": spare["token"]}),
                       ("/key/regenerate", {"key": spare["token"]}),
                       ("/key/update", {"key": cast.mallory.key.token_hash, "user_id": "bob",  # type: ignore[union-attr]
                                        "team_id": team_a})):  # a move into bob's keys of team A
        response = http.post(path, json={**body, "key_alias": "bob-key"})
        assert (response.status_code, response.json()) == (400, taken), (path, body)
    assert sorted(VirtualKey.objects.values_list("token_hash", "key_alias")) == before
    for path in ("/key/update", "/key/regenerate"):
        bob_key = VirtualKey.objects.get(key_alias="bob-key").token_hash
        renamed = http.post(path, json={"key": bob_key, "key_alias": "bob-key"})
        assert (renamed.status_code, renamed.json()["key_alias"]) == (200, "bob-key"), renamed.text


def test_deleting_by_an_alias_two_visible_keys_share_is_a_400(cast: Cast, http: httpx.Client,
                                                               gateway: GatewayProcess) -> None:
    for user, team in (("bob", cast.team_a), ("mallory", cast.team_b)):
        assert http.post("/key/generate", json={"user_id": user, "team_id": team.team_id,
                                                "key_alias": "shared"}).status_code == 200
    refused = http.post("/key/delete", json={"key_aliases": ["shared"]})
    assert (refused.status_code, refused.json()["error"]["message"]) == (
        400, "Several of your keys have the alias 'shared'; name them by key instead.")
    assert VirtualKey.objects.filter(key_alias="shared").count() == 2
    with client(gateway, cast.mallory.secret) as mallory:  # mallory sees only her own: one key
        assert mallory.post("/key/delete", json={"key_aliases": ["shared"]}).status_code == 200
    assert list(VirtualKey.objects.filter(key_alias="shared").values_list("user_id", flat=True)) == ["bob"]


def test_key_list_takes_litellms_include_flags_and_lists_deleted_keys(cast: Cast, http: httpx.Client,
                                                                    gateway: GatewayProcess) -> None:
    def aliases(secret: str, **params: Any) -> list[str]:
        with client(gateway, secret) as caller:
            answer = caller.get("/key/list", params={"return_full_object": "true", **params})
        assert answer.status_code == 200, answer.text
        return sorted(key["key_alias"] for key in answer.json()["keys"])

    alice = cast.alice.secret
    with client(gateway, alice) as as_alice:
        assert as_alice.post("/key/generate", json={"user_id": "bob", "key_alias": "made-by-alice"}).status_code == 200
    assert aliases(alice) == ["alice-key", "bob-key", "made-by-alice"]  # a team admin sees its team's keys
    assert aliases(alice, include_team_keys="false") == ["alice-key"]  # LiteLLM's default: its own
    assert aliases(alice, include_team_keys="false", include_created_by_keys="true") == ["alice-key", "made-by-alice"]
    assert aliases(cast.bob.secret, include_created_by_keys="true") == ["bob-key", "made-by-alice"]

    bob_hash = cast.bob.key.token_hash  # type: ignore[union-attr]
    assert aliases(cast.root.secret, status="deleted") == []
    assert http.post("/key/delete", json={"keys": [bob_hash]}).status_code == 200
    deleted = http.get("/key/list", params={"status": "deleted"}).json()
    assert (deleted["keys"], deleted["total_count"]) == ([bob_hash], 1)
    full = http.get("/key/list", params={"status": "deleted", "return_full_object": "true"}).json()["keys"]
    assert [(k["token"], k["key_alias"], k["user_id"], k["team_id"]) for k in full] == [
        (bob_hash, "bob-key", "bob", cast.team_a.team_id)]
    assert full[0]["deleted_at"] is not None
    assert aliases(alice, status="deleted") == ["bob-key"]  # team A's: alice may see it
    assert aliases(cast.mallory.secret, status="deleted") == []  # another team's deleted key stays unseen
    assert aliases(cast.root.secret) == ["alice-key", "made-by-alice", "mallory-key"]


def test_fields_litellm_1_110_added_that_tollgate_keeps_are_accepted(cast: Cast, http: httpx.Client) -> None:
    """`password` on /user/new (kept hashed, for the web login) and `team_member_budget_duration` on /team/new
    (kept as /team/update keeps it): scripts written for the current LiteLLM send them."""
    user = http.post("/user/new", json={"user_id": "pat", "password": "correct horse battery"})
    assert user.status_code == 200, user.text
    assert "correct horse" not in user.text
    assert User.objects.get(username="pat").check_password("correct horse battery")
    team = http.post("/team/new", json={"team_alias": "timed", "team_member_budget_duration": "1d"})
    assert team.status_code == 200, team.text
    assert Team.objects.get(team_id=team.json()["team_id"]).team_member_budget_duration == "1d"
