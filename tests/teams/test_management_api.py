"""The management API over HTTP: LiteLLM's field names, strict validation, secrets shown once, scoped spend."""
from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal

import httpx
import pytest

from apps.teams.models import SpendLog, VirtualKey
from apps.teams.spend import spend_store
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client, spend_event


def test_generated_secret_is_shown_once_and_only_its_hash_is_stored(cast: Cast, http: httpx.Client) -> None:
    created = http.post("/key/generate", json={"team_id": cast.team_a.team_id, "user_id": "bob",
                                               "models": ["gpt-4o-mini", "openai/*"], "key_alias": "bob-2"}).json()
    secret = created["key"]
    assert secret.startswith("sk-")
    row = VirtualKey.objects.get(key_alias="bob-2")
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() == created["token"]
    assert row.allowed_models == ["gpt-4o-mini", "openai/*"]
    assert secret not in str(VirtualKey.objects.filter(pk=row.pk).values().first())
    info = http.get("/key/info", params={"key": secret}).json()
    assert "key" not in info["info"] and info["info"]["models"] == ["gpt-4o-mini", "openai/*"]
    assert secret not in http.get("/key/list", params={"return_full_object": "true", "size": 100}).text


@pytest.mark.parametrize(("path", "body", "param"), [
    pytest.param("/key/generate", {"max_budget": 1, "budgets": 2}, "budgets", id="unknown_field_case"),
    pytest.param("/key/generate", {"budget_duration": "3 weeks"}, "budget_duration", id="bad_duration_case"),
    pytest.param("/key/generate", {"max_budget": -1}, "max_budget", id="negative_budget_case"),
    pytest.param("/key/generate", {"rpm_limit": "many"}, "rpm_limit", id="bad_integer_case"),
    pytest.param("/key/generate", {"user_id": "nobody"}, "user_id", id="unknown_user_case"),
    pytest.param("/team/member_add", {"member": {"role": "user", "user_id": "bob"}}, "team_id",
                 id="missing_field_case"),
    pytest.param("/team/new", {"team_alias": "x", "max_parallel_calls": 3}, "max_parallel_calls",
                 id="field_litellm_lacks_case"),
    pytest.param("/team/new", {"team_alias": "x", "members_with_roles": [{"role": "boss", "user_id": "bob"}]},
                 "members_with_roles.role", id="nested_field_case"),
    pytest.param("/user/new", {"user_id": "zed", "user_role": "king"}, "user_role", id="bad_choice_case"),
])
def test_bad_bodies_are_400_naming_the_field(cast: Cast, http: httpx.Client, path: str, body: dict[str, object],
                                             param: str) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert error["message"].startswith(param.split(".")[0]) or param in error["message"]


def test_regenerate_keeps_spend_and_window_and_retires_the_old_secret(cast: Cast, http: httpx.Client) -> None:
    key = cast.bob.key
    VirtualKey.objects.filter(pk=key.pk).update(spend=Decimal("1.25"))
    created = http.post("/key/generate", json={"user_id": "bob", "team_id": cast.team_a.team_id,
                                               "budget_duration": "30d", "max_budget": 10}).json()
    before = VirtualKey.objects.get(token_hash=created["token"])
    fresh = http.post("/key/regenerate", json={"key": created["key"]}).json()
    after = VirtualKey.objects.get(pk=before.pk)
    assert fresh["key"] != created["key"] and after.token_hash == hashlib.sha256(fresh["key"].encode()).hexdigest()
    assert (after.spend, after.budget_reset_at, after.max_budget) == (before.spend, before.budget_reset_at,
                                                                      before.max_budget)
    assert http.get("/key/info", params={"key": created["key"]}).status_code == 404


def test_openapi_schema_lists_every_management_path(gateway: GatewayProcess) -> None:
    schema = httpx.get(f"{gateway.url}/management/openapi.json", timeout=30).json()
    assert {"/key/generate", "/key/regenerate", "/team/member_add", "/user/new", "/organization/new",
            "/spend/logs", "/global/spend/report"} <= set(schema["paths"])
    generate = schema["paths"]["/key/generate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert generate["$ref"].endswith("KeyGenerate")
    assert "max_budget" in schema["components"]["schemas"]["KeyGenerate"]["properties"]


@pytest.fixture
def spent(cast: Cast) -> Cast:
    spend_store([spend_event("r-alice", cast.alice.key, "0.5").encode(),  # type: ignore[arg-type]
                 spend_event("r-bob", cast.bob.key, "0.25").encode(),  # type: ignore[arg-type]
                 spend_event("r-mallory", cast.mallory.key, "2", model="other").encode()])  # type: ignore[arg-type]
    return cast


@pytest.mark.parametrize(("actor", "visible"), [
    pytest.param("root", {"r-alice", "r-bob", "r-mallory"}, id="root_case"),
    pytest.param("alice", {"r-alice", "r-bob"}, id="team_admin_case"),
    pytest.param("bob", {"r-bob"}, id="member_case"),
    pytest.param("mallory", {"r-mallory"}, id="other_team_case"),
])
def test_spend_logs_and_report_are_scoped_by_caller(spent: Cast, gateway: GatewayProcess, actor: str,
                                                    visible: set[str]) -> None:
    with client(gateway, spent.actor(actor).secret) as http:
        logs = http.get("/spend/logs").json()
        probe = http.get("/spend/logs", params={"api_key": spent.bob.key.token_hash}).json()  # type: ignore[union-attr]
        report = http.get("/global/spend/report", params={"group_by": "team", "start_date": "2026-03-01",
                                                          "end_date": "2026-04-01"}).json()
    assert {row["request_id"] for row in logs} == visible
    assert {row["request_id"] for row in probe} == visible & {"r-bob"}
    costs = {"r-alice": 0.5, "r-bob": 0.25, "r-mallory": 2.0}
    assert sum(row["spend"] for row in report) == pytest.approx(sum(costs[r] for r in visible))


def test_spend_report_groups_by_day_and_model_as_csv(spent: Cast, http: httpx.Client) -> None:
    response = http.get("/global/spend/report", params={"group_by": "model", "format": "csv",
                                                        "start_date": "2026-03-05", "end_date": "2026-03-06"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["group_by_day"], r["model"], r["spend"], r["requests"]) for r in rows] == [
        ("2026-03-05", "other", "2.0", "1"), ("2026-03-05", "priced", "0.75", "2")]
    empty = http.get("/global/spend/report", params={"group_by": "key", "start_date": "2026-04-01"}).json()
    assert empty == []


def test_spend_store_counts_each_event_once_and_totals_match_the_logs(spent: Cast) -> None:
    again = spend_store([spend_event("r-bob", spent.bob.key, "0.25").encode()])  # type: ignore[arg-type]
    assert (again.stored, again.duplicates) == (0, 1)
    bob = VirtualKey.objects.get(pk=spent.bob.key.pk)  # type: ignore[union-attr]
    assert bob.spend == Decimal("0.25") and SpendLog.objects.count() == 3
    spent.team_a.refresh_from_db()
    spent.org.refresh_from_db()
    assert spent.team_a.spend == spent.org.spend == Decimal("0.75")
