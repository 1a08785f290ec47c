"""Limits LiteLLM enforces beyond a row's own columns: key_type, a key's or organization's budget_id, members' budgets
and limits in a team, a key's temporary budget increase, a team's per-model rate limits, and lazy window resets."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.core.snapshots import snapshot_bump
from apps.teams import services
from apps.teams.models import Budget, EndUser, Team, TeamMembership, VirtualKey
from apps.teams.snapshot import GENERATION, BudgetScope
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import Cast, chat, client, make_key, make_user, wait_for_spend_rows
from tests.teams.test_model_limits import ONE_CALL, key_with


def admin_post(gateway: GatewayProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with client(gateway, MASTER_KEY) as admin:
        answer = admin.post(path, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def budget_error(who: str, spend: str, limit: str, param: str) -> dict[str, Any]:
    return {"error": {"message": f"Budget has been exceeded! {who} Current cost: {spend}, Max budget: {limit}",
                      "type": "budget_exceeded", "param": param, "code": "400"}}


@pytest.mark.parametrize(("key_type", "chat_status", "key_info_status"), [
    pytest.param("read_only", 403, 200, id="read_only_case"),
    pytest.param("management", 403, 200, id="management_case"),
    pytest.param("llm_api", 200, 403, id="llm_api_case"),
    pytest.param("default", 200, 200, id="default_case"),
])
def test_key_type_sets_the_routes_a_key_may_call(cast: Cast, priced, gateway: GatewayProcess, key_type: str,
                                                 chat_status: int, key_info_status: int) -> None:
    priced()
    made = admin_post(gateway, "/key/generate", {"user_id": "bob", "team_id": cast.team_a.team_id,
                                                 "key_type": key_type})
    with client(gateway, made["key"]) as http:
        called = chat(http)
        info = http.get("/key/info", params={"key": made["key"]})
    assert (called.status_code, info.status_code) == (chat_status, key_info_status)
    routes = {"read_only": ["info_routes"], "management": ["management_routes"], "llm_api": ["llm_api_routes"]}
    assert made["allowed_routes"] == routes.get(key_type, [])
    if chat_status == 403:
        assert called.json()["error"]["message"] == (
            f"Virtual key is not allowed to call this route. Only allowed to call routes: {routes[key_type]}. "
            "Tried to call route: /v1/chat/completions")


def test_a_keys_budget_id_gives_the_limits_it_leaves_empty(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    admin_post(gateway, "/budget/new", {"budget_id": "small", "max_budget": 0.01, "rpm_limit": 3,
                                        "budget_duration": "1d"})
    made = admin_post(gateway, "/key/generate", {"user_id": "bob", "team_id": cast.team_a.team_id,
                                                 "key_alias": "budgeted", "budget_id": "small"})
    own = admin_post(gateway, "/key/generate", {"user_id": "bob", "team_id": cast.team_a.team_id,
                                                "key_alias": "own-limit", "budget_id": "small", "max_budget": 0.005})
    with client(gateway, made["key"]) as http:
        statuses = [chat(http, max_tokens=5).status_code for _ in range(2)]
        refused = chat(http, max_tokens=5)
    with client(gateway, own["key"]) as http:
        own_statuses = [chat(http, max_tokens=5).status_code for _ in range(2)]
    assert statuses == [200, 200]
    assert refused.json() == budget_error("Key=budgeted", "0.01", "0.01", "key")
    assert own_statuses == [200, 400]  # the key's own max_budget wins over its budget's
    key = VirtualKey.objects.get(key_alias="budgeted")
    assert key.budget_duration == "" and key.budget_reset_at is not None  # the budget's window, begun at creation
    assert timedelta(hours=23) < key.budget_reset_at - timezone.now() <= timedelta(days=1)


def test_a_keys_budget_rpm_limit_applies(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    admin_post(gateway, "/budget/new", {"budget_id": "slow", "rpm_limit": 1})
    made = admin_post(gateway, "/key/generate", {"user_id": "bob", "team_id": cast.team_a.team_id,
                                                 "key_alias": "slow-key", "budget_id": "slow"})
    with client(gateway, made["key"]) as http:
        first, limited = chat(http), chat(http)
    assert (first.status_code, limited.status_code) == (200, 429)
    assert limited.json()["error"]["message"].startswith("Rate limit reached for Key=slow-key: rpm_limit 1")


def test_max_budget_in_team_is_each_members_own(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    admin_post(gateway, "/team/member_add", {"team_id": cast.team_a.team_id, "max_budget_in_team": 0.005,
                                             "member": [{"user_id": "carol", "role": "user"}]})
    carol = admin_post(gateway, "/key/generate", {"user_id": "carol", "team_id": cast.team_a.team_id})
    with client(gateway, carol["key"]) as http:
        first, refused = chat(http, max_tokens=5), chat(http, max_tokens=5)
    with client(gateway, cast.bob.secret) as http:
        bob = [chat(http, max_tokens=5).status_code for _ in range(2)]
    assert first.status_code == 200
    assert refused.json() == budget_error("Team member=carol in team-a", "0.005", "0.005", "team_member")
    assert bob == [200, 200]
    wait_for_spend_rows(3, team_id=cast.team_a.team_id)
    assert TeamMembership.objects.get(team=cast.team_a, user__username="carol").spend == ONE_CALL


def test_member_update_budget_and_rate_limits_apply_to_that_member(cast: Cast, priced,
                                                                   gateway: GatewayProcess) -> None:
    priced()
    answer = admin_post(gateway, "/team/member_update", {"team_id": cast.team_a.team_id, "user_id": "bob",
                                                         "rpm_limit": 1, "max_budget_in_team": 1})
    assert (answer["rpm_limit"], answer["max_budget_in_team"]) == (1, 1.0)
    with client(gateway, cast.bob.secret) as http:
        first, limited = chat(http), chat(http)
    with client(gateway, cast.alice.secret) as http:
        alice = [chat(http).status_code for _ in range(2)]
    assert (first.status_code, limited.status_code, alice) == (200, 429, [200, 200])
    assert limited.json()["error"]["message"].startswith("Rate limit reached for Team member=bob in team-a: "
                                                         "rpm_limit 1")
    assert limited.json()["error"]["param"] == "team_member"


@pytest.mark.parametrize("field", ["team_member_rpm_limit", "team_member_tpm_limit"])
def test_a_teams_member_limits_hold_each_member_apart(cast: Cast, priced, gateway: GatewayProcess,
                                                      field: str) -> None:
    priced()
    admin_post(gateway, "/team/update", {"team_id": cast.team_a.team_id, field: 1})
    for actor in (cast.bob, cast.alice):
        with client(gateway, actor.secret) as http:
            first, limited = chat(http, max_tokens=5), chat(http, max_tokens=5)
        assert (first.status_code, limited.status_code) == (200, 429), actor.name
        kind = field.removeprefix("team_member_")
        assert limited.json()["error"]["message"].startswith(
            f"Rate limit reached for Team member={actor.name} in team-a: {kind} 1")


def test_team_member_budget_duration_is_the_members_window_not_the_teams(cast: Cast, gateway: GatewayProcess) -> None:
    admin_post(gateway, "/team/update", {"team_id": cast.team_a.team_id, "budget_duration": "30d",
                                         "team_member_budget_duration": "1d"})
    admin_post(gateway, "/team/member_add", {"team_id": cast.team_a.team_id,
                                             "member": [{"user_id": "carol", "role": "user"}]})
    members = TeamMembership.objects.filter(team=cast.team_a)
    assert sorted(m.user_id for m in members) == ["alice", "bob", "carol"]
    for member in members:
        assert timedelta(hours=23) < member.budget_reset_at - timezone.now() <= timedelta(days=1), member.user_id
    assert timedelta(days=29) < Team.objects.get(pk=cast.team_a.pk).budget_reset_at - timezone.now()


@pytest.mark.parametrize(("expiry", "status", "limit"), [
    pytest.param(timedelta(hours=1), 200, "0.01", id="before_expiry_case"),
    pytest.param(-timedelta(minutes=1), 400, "0.005", id="after_expiry_case"),
])
def test_temp_budget_increase_counts_until_its_expiry(cast: Cast, priced, gateway: GatewayProcess,
                                                      expiry: timedelta, status: int, limit: str) -> None:
    priced()
    key, secret = key_with(cast, max_budget=ONE_CALL, spend=ONE_CALL)
    admin_post(gateway, "/key/update", {"key": secret, "temp_budget_increase": 0.005,
                                        "temp_budget_expiry": (timezone.now() + expiry).isoformat()})
    with client(gateway, secret) as http:
        first = chat(http, max_tokens=5)
        last = first if status == 400 else chat(http, max_tokens=5)
    assert first.status_code == status
    spent = "0.005" if status == 400 else "0.01"
    assert last.json() == budget_error("Key=bob-model-key", spent, limit, "key")


def test_temp_budget_ends_at_its_expiry_to_the_second() -> None:
    expiry = datetime(2026, 3, 5, 12, tzinfo=UTC).timestamp()
    scope = BudgetScope(level="key", ledger="k", label="k", max_budget=10, temp_increase=5, temp_until=expiry)
    assert [scope.budget_at(expiry - 1), scope.budget_at(expiry), scope.budget_at(expiry + 1)] == [15, 10, 10]
    assert BudgetScope(level="key", ledger="k", label="k", temp_increase=5, temp_until=expiry).budget_at(0) is None


@pytest.mark.parametrize("limits", [
    pytest.param({"model_rpm_limit": {"priced": 1}}, id="column_case"),
    pytest.param({"metadata": {"model_rpm_limit": {"priced": 1}}}, id="metadata_case"),  # where LiteLLM keeps it
])
def test_a_teams_model_rpm_limit_is_shared_by_its_keys_for_that_model(cast: Cast, priced, gateway: GatewayProcess,
                                                                      limits: dict[str, Any]) -> None:
    priced()
    priced("other")
    admin_post(gateway, "/team/update", {"team_id": cast.team_a.team_id, **limits})
    with client(gateway, cast.bob.secret) as http:
        first = chat(http)
    with client(gateway, cast.alice.secret) as http:
        limited, other = chat(http), chat(http, "other")
    with client(gateway, cast.mallory.secret) as http:
        elsewhere = chat(http)
    assert [r.status_code for r in (first, limited, other, elsewhere)] == [200, 429, 200, 200]
    assert limited.json()["error"]["message"].startswith("Rate limit reached for Team=team-a model=priced: "
                                                         "rpm_limit 1")
    assert limited.json()["error"]["param"] == "team_model"


def test_a_teams_model_tpm_limit_refuses_after_the_minutes_tokens(cast: Cast, priced,
                                                                  gateway: GatewayProcess) -> None:
    priced()
    admin_post(gateway, "/team/update", {"team_id": cast.team_a.team_id, "model_tpm_limit": {"priced": 5}})
    with client(gateway, cast.bob.secret) as http:
        first, limited = chat(http, max_tokens=5), chat(http, max_tokens=5)
    assert (first.status_code, limited.status_code) == (200, 429)
    assert limited.json()["error"]["message"].startswith("Rate limit reached for Team=team-a model=priced: tpm_limit 5")


def test_an_organizations_budget_id_gives_its_empty_limits(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    admin_post(gateway, "/budget/new", {"budget_id": "org-budget", "max_budget": 0.005})
    with client(gateway, MASTER_KEY) as admin:
        updated = admin.patch("/organization/update", json={"organization_id": cast.org.organization_id,
                                                            "budget_id": "org-budget"})
    assert updated.status_code == 200, updated.text
    with client(gateway, cast.bob.secret) as http:
        first, refused = chat(http, max_tokens=5), chat(http, max_tokens=5)
    assert first.status_code == 200
    assert refused.json() == budget_error("Organization=acme", "0.005", "0.005", "organization")


@pytest.mark.parametrize("ended", [pytest.param(False, id="running_case"), pytest.param(True, id="ended_case")])
@pytest.mark.parametrize("level", ["user", "team", "organization", "end_user"])
def test_a_level_whose_window_ended_is_reset_by_the_next_call(cast: Cast, priced, gateway: GatewayProcess,
                                                              level: str, ended: bool) -> None:
    """A level at its budget refuses while its window runs; once the window has ended, the next call starts the new
    window from nothing, before the beat resets the row."""
    priced()
    reset_at = timezone.now() + timedelta(hours=-1 if ended else 1)
    body: dict[str, Any] = {}
    # A user id of its own: a late flush of an earlier test's call by bob would land on this test's bob row.
    caller = make_user(f"lazy-{level}-{'ended' if ended else 'running'}")
    services.team_member_add(team=cast.team_a, user=caller, role="user")
    secret = make_key(caller, cast.team_a)[1]
    if level == "end_user":
        budget = Budget.objects.create(max_budget=ONE_CALL, budget_duration="1d", budget_reset_at=reset_at)
        end_user = f"customer-{'ended' if ended else 'running'}"  # not reused: a late flush may store an end user
        EndUser.objects.create(user_id=end_user, budget=budget, spend=ONE_CALL)
        body = {"user": end_user}
    else:
        row = {"user": caller, "team": cast.team_a, "organization": cast.org}[level]
        type(row).objects.filter(pk=row.pk).update(budget_duration="1d", max_budget=ONE_CALL, spend=ONE_CALL,
                                                   budget_reset_at=reset_at)
    snapshot_bump(GENERATION)
    with client(gateway, secret) as http:
        answers = [chat(http, max_tokens=5, **body) for _ in range(2 if ended else 1)]
    assert [a.status_code for a in answers] == ([200, 400] if ended else [400])
    assert answers[-1].json()["error"]["param"] == level
    assert "Current cost: 0.005, Max budget: 0.005" in answers[-1].json()["error"]["message"]


def test_user_new_model_max_budget_is_its_first_keys(cast: Cast, priced, gateway: GatewayProcess) -> None:
    """LiteLLM's /user/new writes `model_max_budget` on the key it makes, where it is enforced."""
    priced()
    made = admin_post(gateway, "/user/new", {"user_id": "dave", "model_max_budget": {"priced": 0.005}})
    with client(gateway, made["key"]) as http:
        first, refused = chat(http, max_tokens=5), chat(http, max_tokens=5)
    assert first.status_code == 200
    assert refused.json()["error"]["param"] == "key_model"
    assert "Current cost: 0.005, Max budget: 0.005" in refused.json()["error"]["message"]


def test_a_keys_budget_id_gives_its_model_max_budget(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    priced("other")
    admin_post(gateway, "/budget/new", {"budget_id": "per-model", "model_max_budget": {"priced": 0.005}})
    made = admin_post(gateway, "/key/generate", {"user_id": "bob", "team_id": cast.team_a.team_id,
                                                 "key_alias": "per-model-key", "budget_id": "per-model"})
    with client(gateway, made["key"]) as http:
        first, refused, other = chat(http, max_tokens=5), chat(http, max_tokens=5), chat(http, "other", max_tokens=5)
    assert (first.status_code, other.status_code) == (200, 200)
    assert refused.json() == budget_error("Key=per-model-key model=priced", "0.005", "0.005", "key_model")


def test_a_temp_budget_in_the_keys_metadata_counts_as_litellm_keeps_it(cast: Cast, priced,
                                                                       gateway: GatewayProcess) -> None:
    """An imported LiteLLM key keeps its temporary increase in metadata: it applies until that expiry too."""
    priced()
    expiry = (timezone.now() + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    _, secret = key_with(cast, max_budget=ONE_CALL, spend=ONE_CALL,
                         metadata={"temp_budget_increase": 0.005, "temp_budget_expiry": expiry})
    with client(gateway, secret) as http:
        first, refused = chat(http, max_tokens=5), chat(http, max_tokens=5)
    assert first.status_code == 200
    assert refused.json() == budget_error("Key=bob-model-key", "0.01", "0.01", "key")
