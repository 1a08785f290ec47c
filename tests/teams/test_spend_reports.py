"""/spend/logs (LiteLLM's filters and summary), /spend/logs/v2, /global/spend/* and /spend/tags over HTTP,
with exact sums of the stored rows and each role's view of them."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client
from tests.teams.spend_rows import seed, team_ref


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def logged(cast: Cast) -> Cast:
    seed(cast.alice, "a1", at(1, 9), "1.5", tags=["prod", "search"])
    seed(cast.alice, "a2", at(2, 9), "0.25", model="gpt-b", status="failure")
    seed(cast.bob, "b1", at(2, 23), "2", tags=["prod"])
    seed(cast.bob, "b2", at(4, 0), "0.125")
    seed(cast.mallory, "m1", at(3, 11), "4", tags=["batch"])
    return cast


def get(http: httpx.Client, path: str, **params: Any) -> Any:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("params", "ids"), [
    pytest.param({"api_key": "SECRET:bob"}, {"b1", "b2"}, id="api_key_secret_case"),
    pytest.param({"api_key": "HASH:alice"}, {"a1", "a2"}, id="api_key_hash_case"),
    pytest.param({"user_id": "mallory"}, {"m1"}, id="user_id_case"),
    pytest.param({"team_id": "A"}, {"a1", "a2", "b1", "b2"}, id="team_id_case"),
    pytest.param({"team_id": "not-a-team"}, set(), id="unknown_team_case"),
    pytest.param({"request_id": "b1"}, {"b1"}, id="request_id_case"),
    pytest.param({"start_date": "2026-03-02", "end_date": "2026-03-03", "summarize": "false"}, {"a2", "b1", "m1"},
                 id="dates_unsummarized_include_the_end_day_case"),
    pytest.param({"start_date": "2026-03-02T12:00:00Z", "end_date": "2026-03-04 00:00:00", "summarize": "false"},
                 {"b1", "m1"}, id="instants_exclude_the_end_case"),
    pytest.param({"user_id": "bob", "start_date": "2026-03-01", "end_date": "2026-03-02", "summarize": "false"},
                 {"b1"}, id="filters_combine_case"),
])
def test_spend_logs_filters(logged: Cast, http: httpx.Client, params: dict[str, str], ids: set[str]) -> None:
    keys = {f"{kind}:{name}": (logged.actor(name).secret if kind == "SECRET" else
                               logged.actor(name).key.token_hash)  # type: ignore[union-attr]
            for kind in ("SECRET", "HASH") for name in ("alice", "bob")}
    named = {k: keys.get(v, v.replace("A", team_ref(logged.team_a)) if k == "team_id" else v)
             for k, v in params.items()}
    rows = get(http, "/spend/logs", **named)
    assert {row["request_id"] for row in rows} == ids


def test_spend_logs_with_dates_summarize_per_day_as_litellm(logged: Cast, http: httpx.Client) -> None:
    alice, bob = (logged.actor(n).key.token_hash for n in ("alice", "bob"))  # type: ignore[union-attr]
    days = get(http, "/spend/logs", start_date="2026-03-02", end_date="2026-03-05", team_id=team_ref(logged.team_a))
    assert days == [
        {"startTime": "2026-03-02", "spend": 2.25, "users": {"alice": 0.25, "bob": 2.0},
         "models": {"gpt-a": 2.0, "gpt-b": 0.25}, alice: 0.25, bob: 2.0},
        {"startTime": "2026-03-03", "spend": 0.0, "users": {}, "models": {}},
        {"startTime": "2026-03-04", "spend": 0.125, "users": {"bob": 0.125}, "models": {"gpt-a": 0.125}, bob: 0.125},
        {"startTime": "2026-03-05", "spend": 0.0, "users": {}, "models": {}},
    ]


@pytest.mark.parametrize(("actor", "ids"), [
    pytest.param("root", {"a1", "a2", "b1", "b2", "m1"}, id="proxy_admin_case"),
    pytest.param("alice", {"a1", "a2", "b1", "b2"}, id="team_admin_case"),
    pytest.param("bob", {"b1", "b2"}, id="member_case"),
    pytest.param("mallory", {"m1"}, id="other_team_case"),
])
def test_spend_logs_page_counts_and_scopes(logged: Cast, gateway: GatewayProcess, actor: str, ids: set[str]) -> None:
    with client(gateway, logged.actor(actor).secret) as http:
        pages = [get(http, "/spend/logs/v2", start_date="2026-03-01", end_date="2026-03-31", page=n, page_size=2)
                 for n in (1, 2, 3)]
        snooped = get(http, "/spend/logs/v2", start_date="2026-03-01", end_date="2026-03-31", user_id="mallory")
    assert [p["total"] for p in pages] == [len(ids)] * 3
    assert [p["total_pages"] for p in pages] == [-(-len(ids) // 2)] * 3
    seen = [row["request_id"] for p in pages for row in p["data"]]
    assert sorted(seen) == sorted(ids)
    assert {row["request_id"] for row in snooped["data"]} == ids & {"m1"}


@pytest.mark.parametrize(("params", "ids"), [
    pytest.param({"min_spend": "0.25", "max_spend": "2"}, ["b1", "a2", "a1"], id="spend_between_case"),
    pytest.param({"status_filter": "failure"}, ["a2"], id="status_case"),
    pytest.param({"model": "gpt-b"}, ["a2"], id="model_case"),
    pytest.param({"key_alias": "bob-key"}, ["b2", "b1"], id="key_alias_case"),
    pytest.param({"start_date": "2026-03-03"}, ["b2", "m1"], id="date_only_start_case"),
])
def test_spend_logs_page_filters_newest_first(logged: Cast, http: httpx.Client, params: dict[str, str],
                                              ids: list[str]) -> None:
    answer = get(http, "/spend/logs/v2", **{"start_date": "2026-03-01", "end_date": "2026-03-04", **params})
    assert [row["request_id"] for row in answer["data"]] == ids


def test_spend_logs_page_needs_both_dates(cast: Cast, http: httpx.Client) -> None:
    response = http.get("/spend/logs/v2", params={"start_date": "2026-03-01"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "end_date"


def test_spend_per_tag(logged: Cast, http: httpx.Client) -> None:
    window = {"start_date": "2026-03-01", "end_date": "2026-03-31"}
    assert get(http, "/global/spend/tags", **window) == {"spend_per_tag": [
        {"name": "batch", "spend": 4.0, "log_count": 1}, {"name": "prod", "spend": 3.5, "log_count": 2},
        {"name": "search", "spend": 1.5, "log_count": 1}]}
    assert get(http, "/global/spend/tags", tags="prod,search", **window)["spend_per_tag"] == [
        {"name": "prod", "spend": 3.5, "log_count": 2}, {"name": "search", "spend": 1.5, "log_count": 1}]
    assert get(http, "/spend/tags", start_date="2026-03-02", end_date="2026-03-31") == [
        {"individual_request_tag": "batch", "log_count": 1, "total_spend": 4.0},
        {"individual_request_tag": "prod", "log_count": 1, "total_spend": 2.0}]
    assert get(http, "/global/spend/all_tag_names") == {"tag_names": ["batch", "prod", "search"]}


def test_global_activity_and_provider_between_two_dates(logged: Cast, http: httpx.Client) -> None:
    activity = get(http, "/global/activity", start_date="2026-03-02", end_date="2026-03-03")
    assert activity == {"daily_data": [{"date": "Mar 02", "api_requests": 2, "total_tokens": 6},
                                       {"date": "Mar 03", "api_requests": 1, "total_tokens": 3}],
                        "sum_api_requests": 3, "sum_total_tokens": 9}
    assert get(http, "/global/activity/model", start_date="2026-03-02", end_date="2026-03-03") == [
        {"model": "gpt-a", "sum_api_requests": 2, "sum_total_tokens": 6, "daily_data": [
            {"model_group": "gpt-a", "date": "Mar 02", "api_requests": 1, "total_tokens": 3},
            {"model_group": "gpt-a", "date": "Mar 03", "api_requests": 1, "total_tokens": 3}]},
        {"model": "gpt-b", "sum_api_requests": 1, "sum_total_tokens": 3, "daily_data": [
            {"model_group": "gpt-b", "date": "Mar 02", "api_requests": 1, "total_tokens": 3}]}]
    assert get(http, "/global/spend/provider", start_date="2026-03-01", end_date="2026-03-03") == [
        {"provider": "openai", "spend": 7.75}]
    missing = http.get("/global/activity", params={"start_date": "2026-03-02"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "end_date"


def days_ago(days: int, hour: int = 12) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days), time(hour), tzinfo=UTC)


@pytest.fixture
def recent(cast: Cast) -> Cast:
    """Spend in the last 30 days (and one older row, which the /global/spend/* answers leave out)."""
    seed(cast.alice, "r1", days_ago(1), "1", model="gpt-b")
    seed(cast.bob, "r2", days_ago(1, 13), "2")
    seed(cast.bob, "r3", days_ago(2), "0.5")
    seed(cast.mallory, "r4", days_ago(30, 0), "3")
    seed(cast.mallory, "old", days_ago(40), "100")
    return cast


def day(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def test_global_spend_covers_the_last_30_days(recent: Cast, http: httpx.Client) -> None:
    alice, bob, mallory = (recent.actor(n).key.token_hash for n in ("alice", "bob", "mallory"))  # type: ignore[union-attr]
    assert get(http, "/global/spend") == {"spend": 6.5, "max_budget": None}
    assert get(http, "/global/spend/logs") == [{"date": day(30), "spend": 3.0}, {"date": day(2), "spend": 0.5},
                                               {"date": day(1), "spend": 3.0}]
    assert get(http, "/global/spend/logs", api_key=recent.bob.secret) == [
        {"date": day(2), "spend": 0.5, "api_key": bob}, {"date": day(1), "spend": 2.0, "api_key": bob}]
    assert get(http, "/global/spend/keys", limit=2) == [
        {"api_key": mallory, "total_spend": 3.0, "key_alias": "mallory-key", "key_name": recent.mallory.key.key_name},  # type: ignore[union-attr]
        {"api_key": bob, "total_spend": 2.5, "key_alias": "bob-key", "key_name": recent.bob.key.key_name}]  # type: ignore[union-attr]
    assert len(get(http, "/global/spend/keys")) == 3 and alice
    assert get(http, "/global/spend/models") == [{"model": "gpt-a", "total_spend": 5.5, "total_tokens": 9},
                                                 {"model": "gpt-b", "total_spend": 1.0, "total_tokens": 3}]
    assert get(http, "/global/spend/teams") == {
        "daily_spend": [{"date": day(30), "team-b": 3.0}, {"date": day(2), "team-a": 0.5},
                        {"date": day(1), "team-a": 3.0}],
        "teams": ["team-a", "team-b"],
        "total_spend_per_team": [{"team_id": "team-a", "total_spend": 3.5}, {"team_id": "team-b", "total_spend": 3.0}]}


@pytest.mark.parametrize(("actor", "spend", "keys"), [
    pytest.param("alice", 3.5, {"alice-key", "bob-key"}, id="team_admin_case"),
    pytest.param("bob", 2.5, {"bob-key"}, id="member_case"),
    pytest.param("mallory", 3.0, {"mallory-key"}, id="other_team_case"),
])
def test_global_spend_is_scoped_to_what_the_caller_may_see(recent: Cast, gateway: GatewayProcess, actor: str,
                                                         spend: float, keys: set[str]) -> None:
    with client(gateway, recent.actor(actor).secret) as http:
        assert get(http, "/global/spend")["spend"] == spend
        assert {k["key_alias"] for k in get(http, "/global/spend/keys")} == keys
        assert sum(m["total_spend"] for m in get(http, "/global/spend/models")) == spend
        assert sum(d["spend"] for d in get(http, "/global/spend/logs")) == spend
        foreign = get(http, "/global/spend/logs", api_key=recent.mallory.key.token_hash)  # type: ignore[union-attr]
    assert sum(d["spend"] for d in foreign) == (3.0 if actor == "mallory" else 0.0)


def test_spend_report_per_day_and_team_as_litellm(logged: Cast, http: httpx.Client) -> None:
    alice, bob, mallory = (logged.actor(n).key.token_hash for n in ("alice", "bob", "mallory"))  # type: ignore[union-attr]
    report = get(http, "/global/spend/report", start_date="2026-03-02", end_date="2026-03-03")
    assert report == [
        {"group_by_day": "2026-03-02", "teams": [{"team_name": "team-a", "total_spend": 2.25, "metadata": [
            {"model": "gpt-a", "api_key": bob, "spend": 2.0, "total_tokens": 3},
            {"model": "gpt-b", "api_key": alice, "spend": 0.25, "total_tokens": 3}]}]},
        {"group_by_day": "2026-03-03", "teams": [{"team_name": "team-b", "total_spend": 4.0, "metadata": [
            {"model": "gpt-a", "api_key": mallory, "spend": 4.0, "total_tokens": 3}]}]}]


@pytest.mark.parametrize(("params", "keys"), [
    pytest.param({"group_by": "api_key"}, ["mallory", "bob", "alice"], id="group_by_api_key_case"),
    pytest.param({"api_key": "SECRET:bob"}, ["bob"], id="one_key_by_secret_case"),
    pytest.param({"internal_user_id": "alice"}, ["alice"], id="internal_user_case"),
])
def test_spend_report_per_key_as_litellm(logged: Cast, http: httpx.Client, params: dict[str, str],
                                         keys: list[str]) -> None:
    named = {k: logged.bob.secret if v == "SECRET:bob" else v for k, v in params.items()}
    report = get(http, "/global/spend/report", start_date="2026-03-01", end_date="2026-03-31", **named)
    owner = {logged.actor(n).key.token_hash: n for n in ("alice", "bob", "mallory")}  # type: ignore[union-attr]
    assert [owner[r["api_key"]] for r in report] == keys
    alice = {"total_cost": 1.75, "total_input_tokens": 2, "total_output_tokens": 4, "model_details": [
        {"model": "gpt-a", "total_cost": 1.5, "total_input_tokens": 1, "total_output_tokens": 2},
        {"model": "gpt-b", "total_cost": 0.25, "total_input_tokens": 1, "total_output_tokens": 2}]}
    bob = {"total_cost": 2.125, "total_input_tokens": 2, "total_output_tokens": 4, "model_details": [
        {"model": "gpt-a", "total_cost": 2.125, "total_input_tokens": 2, "total_output_tokens": 4}]}
    expected = {"alice": alice, "bob": bob}
    assert [{k: v for k, v in r.items() if k != "api_key"} for r in report if owner[r["api_key"]] != "mallory"] == \
        [expected[k] for k in keys if k != "mallory"]


def test_spend_report_team_filter_and_scope(logged: Cast, gateway: GatewayProcess) -> None:
    with client(gateway, logged.bob.secret) as http:
        mine = get(http, "/global/spend/report", group_by="api_key", start_date="2026-03-01", end_date="2026-03-31")
        theirs = get(http, "/global/spend/report", internal_user_id="mallory", start_date="2026-03-01",
                     end_date="2026-03-31")
    assert [r["total_cost"] for r in mine] == [2.125] and theirs == []
    with client(gateway, logged.root.secret) as http:
        team_b = get(http, "/global/spend/report", team_id=team_ref(logged.team_b), start_date="2026-03-01",
                     end_date="2026-03-31")
    assert [(d["group_by_day"], [t["team_name"] for t in d["teams"]]) for d in team_b] == [("2026-03-03", ["team-b"])]


def test_every_spend_path_needs_a_key_and_is_in_the_schema(gateway: GatewayProcess) -> None:
    from apps.teams.spend_urls import urlpatterns

    paths = {f"/{pattern.pattern}" for pattern in urlpatterns}
    with httpx.Client(base_url=gateway.url, timeout=30) as anonymous:
        answers = {path: anonymous.get(path, params={"start_date": "2026-03-01", "end_date": "2026-03-02"})
                   for path in sorted(paths)}
        schema = anonymous.get("/management/openapi.json").json()
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(sorted(paths), 401)
    assert all(r.json()["error"]["type"] == "authentication_error" for r in answers.values())
    assert paths <= set(schema["paths"])
    activity = {p["name"] for p in schema["paths"]["/user/daily/activity"]["get"]["parameters"]}
    assert {"start_date", "end_date", "timezone", "page", "page_size", "model", "api_key"} <= activity


MARCH = {"start_date": "2026-03-01", "end_date": "2026-03-31"}
# Each role's rows of `logged`: alice runs team A (a1, a2, b1, b2), bob sees his own (b1, b2), mallory team B (m1).
SCOPED = {
    "alice": {"provider": 3.875, "tags": {"prod": (3.5, 2), "search": (1.5, 1)}, "requests": 4,
              "models": {"gpt-a": 3, "gpt-b": 1}},
    "bob": {"provider": 2.125, "tags": {"prod": (2.0, 1)}, "requests": 2, "models": {"gpt-a": 2}},
    "mallory": {"provider": 4.0, "tags": {"batch": (4.0, 1)}, "requests": 1, "models": {"gpt-a": 1}},
}


@pytest.mark.parametrize("actor", list(SCOPED))
def test_tag_provider_and_activity_reads_are_scoped_to_the_caller(logged: Cast, gateway: GatewayProcess,
                                                                  actor: str) -> None:
    mine = SCOPED[actor]
    with client(gateway, logged.actor(actor).secret) as http:
        providers = get(http, "/global/spend/provider", **MARCH)
        tags = get(http, "/global/spend/tags", **MARCH)["spend_per_tag"]
        names = get(http, "/global/spend/all_tag_names")["tag_names"]
        request_tags = get(http, "/spend/tags", **MARCH)
        activity = get(http, "/global/activity", **MARCH)
        per_model = get(http, "/global/activity/model", **MARCH)
    assert providers == [{"provider": "openai", "spend": mine["provider"]}]
    assert {t["name"]: (t["spend"], t["log_count"]) for t in tags} == mine["tags"]
    assert sorted(names) == sorted(mine["tags"])
    assert {t["individual_request_tag"]: (t["total_spend"], t["log_count"]) for t in request_tags} == mine["tags"]
    assert activity["sum_api_requests"] == mine["requests"]
    assert {m["model"]: m["sum_api_requests"] for m in per_model} == mine["models"]


@pytest.mark.parametrize(("actor", "teams"), [
    pytest.param("alice", {"team-a": 3.5}, id="team_admin_case"),
    pytest.param("bob", {"team-a": 2.5}, id="member_case"),
    pytest.param("mallory", {"team-b": 3.0}, id="other_team_case"),
])
def test_spend_per_team_is_scoped_to_the_caller(recent: Cast, gateway: GatewayProcess, actor: str,
                                                teams: dict[str, float]) -> None:
    with client(gateway, recent.actor(actor).secret) as http:
        answer = get(http, "/global/spend/teams")
    assert answer["teams"] == sorted(teams)
    assert {t["team_id"]: t["total_spend"] for t in answer["total_spend_per_team"]} == teams
    assert {name for row in answer["daily_spend"] for name in row if name != "date"} == set(teams)
