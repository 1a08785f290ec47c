"""LiteLLM's key fields with behaviour on /v1: model aliases, allowed_routes, tags; and end users' budgets."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.core.snapshots import snapshot_bump
from apps.teams.models import Budget, EndUser, SpendLog, Team
from apps.teams.snapshot import GENERATION
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import Cast, chat, client, wait_for_spend_rows
from tests.teams.test_model_limits import ONE_CALL, key_with


def test_key_alias_is_served_by_its_model_group_and_logged_under_it(cast: Cast, priced,
                                                                    gateway: GatewayProcess) -> None:
    priced()
    key, secret = key_with(cast, aliases={"gpt-4": "priced"})
    with client(gateway, secret) as http:
        response = chat(http, "gpt-4", max_tokens=5)
        unaliased = chat(http, "gpt-4o", max_tokens=5)
    assert response.status_code == 200
    assert response.headers["x-litellm-model-group"] == "priced"
    assert unaliased.status_code == 404  # no such group, and no alias for it
    [row] = wait_for_spend_rows(1, key_id=key.pk)
    assert (row.model_alias, row.cost) == ("priced", ONE_CALL)


def test_key_alias_is_applied_on_legacy_completions_too(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = key_with(cast, aliases={"gpt-4": "priced"})
    with client(gateway, secret) as http:
        response = http.post("/v1/completions", json={"model": "gpt-4", "prompt": "hello", "max_tokens": 5})
    assert response.status_code == 200
    assert response.json()["object"] == "text_completion"
    [row] = wait_for_spend_rows(1, key_id=key.pk)
    assert (row.model_alias, row.call_type) == ("priced", "text_completion")


def test_team_model_aliases_apply_first_then_the_keys(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    priced("team-default")
    Team.objects.filter(pk=cast.team_a.pk).update(model_aliases={"fast": "team-default", "best": "gpt-4"})
    key, secret = key_with(cast, aliases={"gpt-4": "priced"})
    with client(gateway, secret) as http:
        fast, best = chat(http, "fast"), chat(http, "best")
    assert (fast.headers["x-litellm-model-group"], best.headers["x-litellm-model-group"]) == ("team-default",
                                                                                              "priced")


@pytest.mark.parametrize(("allowed", "status"), [
    pytest.param(["gpt-4"], 200, id="alias_allowed_case"),
    pytest.param(["priced"], 200, id="model_allowed_case"),
    pytest.param(["other"], 401, id="neither_case"),
])
def test_alias_passes_when_the_alias_or_its_model_is_allowed(cast: Cast, priced, gateway: GatewayProcess,
                                                             allowed: list[str], status: int) -> None:
    priced()
    _, secret = key_with(cast, aliases={"gpt-4": "priced"}, allowed_models=allowed)
    with client(gateway, secret) as http:
        response = chat(http, "gpt-4")
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["message"] == (
            "This key is not allowed to access model=gpt-4. Allowed models: other")


def test_model_budget_of_an_aliased_call_is_the_served_models(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    _, secret = key_with(cast, aliases={"gpt-4": "priced"}, model_max_budget={"priced": 0.005})
    with client(gateway, secret) as http:
        assert chat(http, "gpt-4", max_tokens=5).status_code == 200
        assert chat(http, "priced", max_tokens=5).json()["error"]["param"] == "key_model"


def route_statuses(gateway: GatewayProcess, secret: str) -> dict[str, int]:
    with client(gateway, secret) as http:
        return {"/v1/chat/completions": chat(http).status_code,
                "/chat/completions": http.post("/chat/completions", json={"model": "priced", "messages": [
                    {"role": "user", "content": "hi"}]}).status_code,
                "/v1/models": http.get("/v1/models").status_code,
                "/key/info": http.get("/key/info", params={"key": secret}).status_code}


@pytest.mark.parametrize(("allowed", "expected"), [
    pytest.param(["/v1/chat/completions"], {"/v1/chat/completions": 200, "/chat/completions": 403,
                                            "/v1/models": 403, "/key/info": 403}, id="one_path_case"),
    pytest.param(["llm_api_routes"], {"/v1/chat/completions": 200, "/chat/completions": 200,
                                      "/v1/models": 200, "/key/info": 403}, id="llm_api_routes_case"),
    pytest.param(["info_routes"], {"/v1/chat/completions": 403, "/chat/completions": 403,
                                   "/v1/models": 200, "/key/info": 200}, id="info_routes_case"),
    pytest.param(["/key/*", "/chat/completions"], {"/v1/chat/completions": 403, "/chat/completions": 200,
                                                   "/v1/models": 403, "/key/info": 200}, id="wildcard_case"),
])
def test_allowed_routes_refuse_every_other_route_with_403(cast: Cast, priced, gateway: GatewayProcess,
                                                          allowed: list[str], expected: dict[str, int]) -> None:
    priced()
    _, secret = key_with(cast, allowed_routes=allowed)
    assert route_statuses(gateway, secret) == expected


def test_route_refusal_names_the_allowed_routes_and_the_path(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    _, secret = key_with(cast, allowed_routes=["/v1/embeddings"])
    with client(gateway, secret) as http:
        refused = chat(http)
    assert (refused.status_code, refused.json()) == (403, {"error": {
        "message": "Virtual key is not allowed to call this route. Only allowed to call routes: "
                   "['/v1/embeddings']. Tried to call route: /v1/chat/completions",
        "type": "permission_error", "param": None, "code": "route_not_allowed"}})


def test_spend_rows_carry_the_keys_tags_then_the_requests(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = key_with(cast, tags=["team-x", "shared"])
    with client(gateway, secret) as http:
        assert chat(http, max_tokens=5, metadata={"tags": ["feature-a", "shared"]}).status_code == 200
        assert chat(http, max_tokens=5).status_code == 200
        assert chat(http, max_tokens=5, tags=["top"], metadata={"tags": ["feature-b"]}).status_code == 200
    rows = wait_for_spend_rows(3, key_id=key.pk)
    assert [row.tags for row in rows] == [["team-x", "shared", "feature-a"], ["team-x", "shared"],
                                          ["team-x", "shared", "feature-b", "top"]]


def end_user(user_id: str, *, blocked: bool = False, **budget: object) -> EndUser:
    row = EndUser.objects.create(user_id=user_id, blocked=blocked,
                                 budget=Budget.objects.create(**budget) if budget else None)
    snapshot_bump(GENERATION)
    return row


def test_end_user_is_created_on_first_use_and_charged(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    with client(gateway, cast.bob.secret) as http:
        assert chat(http, max_tokens=5, user="customer-1").status_code == 200
        assert chat(http, max_tokens=5, user="customer-1").status_code == 200
    rows = wait_for_spend_rows(2, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert [row.end_user for row in rows] == ["customer-1", "customer-1"]
    assert EndUser.objects.get(user_id="customer-1").spend == 2 * ONE_CALL


def test_end_user_budget_refuses_its_calls_only(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    end_user("customer-2", max_budget=Decimal("0.01"))
    with client(gateway, cast.bob.secret) as http:
        assert [chat(http, max_tokens=5, user="customer-2").status_code for _ in range(2)] == [200, 200]
        refused = chat(http, max_tokens=5, user="customer-2")
        other = chat(http, max_tokens=5, user="customer-3")
    assert refused.json() == {"error": {
        "message": "Budget has been exceeded! End User=customer-2 Current cost: 0.01, Max budget: 0.01",
        "type": "budget_exceeded", "param": "end_user", "code": "400"}}
    assert other.status_code == 200
    wait_for_spend_rows(3, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert EndUser.objects.get(user_id="customer-2").spend == 2 * ONE_CALL


def test_end_user_rpm_limit_is_429(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    end_user("customer-4", rpm_limit=1)
    with client(gateway, cast.alice.secret) as http:
        assert chat(http, user="customer-4").status_code == 200
        limited = chat(http, user="customer-4")
    assert limited.status_code == 429
    assert limited.json()["error"]["message"].startswith("Rate limit reached for End User=customer-4: rpm_limit 1")


def test_blocked_end_user_is_refused_even_with_the_master_key(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    end_user("customer-5", blocked=True)
    for secret in (cast.bob.secret, cast.root.secret):
        with client(gateway, secret) as http:
            refused = chat(http, user="customer-5")
        assert (refused.status_code, refused.json()["error"]) == (400, {
            "message": "User blocked from making LLM API Calls. User=customer-5", "type": "invalid_request_error",
            "param": "user", "code": "end_user_blocked"})
    # Nothing is billed: the two calls are logged as refusals naming the end user's block, at no cost.
    rows = wait_for_spend_rows(2, end_user="customer-5", status="refused")
    assert not SpendLog.objects.filter(end_user="customer-5").exclude(status="refused").exists()
    assert [(r.status, r.limit_level, r.limit_kind, r.cost) for r in rows] == [("refused", "end_user", "blocked", 0)] * 2


def test_fields_set_through_the_management_api_take_effect(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    with client(gateway, MASTER_KEY) as admin:
        generated = admin.post("/key/generate", json={
            "user_id": "bob", "team_id": cast.team_a.team_id, "key_alias": "scripted",
            "aliases": {"gpt-4": "priced"}, "model_max_budget": {"priced": {"budget_limit": 0.005, "time_period": "1d"}},
            "allowed_routes": ["/v1/chat/completions"], "tags": ["scripted"]})
        assert generated.status_code == 200, generated.text
        assert admin.post("/end_user/new", json={"user_id": "api-customer", "max_budget": 0.005}).status_code == 200
    secret = generated.json()["key"]
    with client(gateway, secret) as http:
        assert chat(http, "gpt-4", max_tokens=5, user="api-customer").status_code == 200
        refused = chat(http, "gpt-4", max_tokens=5)
        assert http.get("/v1/models").status_code == 403
    assert refused.json()["error"]["param"] == "key_model"
    [row] = wait_for_spend_rows(1, key_hash=generated.json()["token"])
    assert (row.model_alias, row.tags, row.end_user) == ("priced", ["scripted"], "api-customer")
    with client(gateway, cast.alice.secret) as http:
        over = chat(http, max_tokens=5, user="api-customer")
    assert over.json()["error"]["param"] == "end_user"
