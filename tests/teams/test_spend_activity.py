"""/user/daily/activity and /team/daily/activity over HTTP: LiteLLM's paginated shape, totals over every page,
days cut in the caller's time zone, and each role's view of the spend rows."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client
from tests.teams.spend_rows import seed, team_ref

ACTIVITY = "/user/daily/activity"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def week(cast: Cast) -> Cast:
    """Five days of spend: alice and bob (team A), mallory (team B), one failure, two models and providers."""
    seed(cast.alice, "a1", at(1, 9), "1.5", prompt=10, completion=20, cached=4)
    seed(cast.alice, "a2", at(2, 9), "0.25", model="gpt-b", provider="anthropic", status="failure")
    seed(cast.bob, "b1", at(2, 10), "2", prompt=7, completion=3)
    seed(cast.bob, "b2", at(3, 10), "0.125")
    seed(cast.mallory, "m1", at(4, 11), "4")
    seed(cast.alice, "a3", at(5, 12), "0.5", model="gpt-b", provider="anthropic")
    return cast


def get(http: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_totals_cover_the_whole_range_on_every_page(week: Cast, http: httpx.Client) -> None:
    pages = [get(http, ACTIVITY, start_date="2026-03-01", end_date="2026-03-05", page=n, page_size=2)
             for n in (1, 2, 3)]
    assert [[r["date"] for r in p["results"]] for p in pages] == [
        ["2026-03-05", "2026-03-04"], ["2026-03-03", "2026-03-02"], ["2026-03-01"]]
    assert [(p["metadata"]["page"], p["metadata"]["total_pages"], p["metadata"]["has_more"]) for p in pages] == [
        (1, 3, True), (2, 3, True), (3, 3, False)]
    totals = {k: v for k, v in pages[0]["metadata"].items() if k.startswith("total_") and k != "total_pages"}
    assert totals == {"total_spend": 8.375, "total_prompt_tokens": 21, "total_completion_tokens": 31,
                      "total_tokens": 52, "total_api_requests": 6, "total_successful_requests": 5,
                      "total_failed_requests": 1, "total_cache_read_input_tokens": 4,
                      "total_cache_creation_input_tokens": 0}
    assert all({k: p["metadata"][k] for k in totals} == totals for p in pages)
    assert sum(r["metrics"]["spend"] for p in pages for r in p["results"]) == 8.375
    beyond = get(http, ACTIVITY, start_date="2026-03-01", end_date="2026-03-05", page=4, page_size=2)
    assert beyond["results"] == [] and beyond["metadata"]["total_spend"] == 8.375


def test_a_day_has_its_metrics_and_breakdown(week: Cast, http: httpx.Client) -> None:
    day = get(http, ACTIVITY, start_date="2026-03-02", end_date="2026-03-02")["results"]
    assert len(day) == 1 and day[0]["date"] == "2026-03-02"
    assert day[0]["metrics"] == {"spend": 2.25, "prompt_tokens": 8, "completion_tokens": 5,
                                 "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "total_tokens": 13,
                                 "successful_requests": 1, "failed_requests": 1, "api_requests": 2}
    breakdown = day[0]["breakdown"]
    alice, bob = week.alice.key.token_hash, week.bob.key.token_hash  # type: ignore[union-attr]
    assert {m: v["metrics"]["spend"] for m, v in breakdown["models"].items()} == {"gpt-a": 2.0, "gpt-b": 0.25}
    assert breakdown["model_groups"] == breakdown["models"]
    assert {p: v["metrics"]["api_requests"] for p, v in breakdown["providers"].items()} == {"openai": 1,
                                                                                          "anthropic": 1}
    assert breakdown["api_keys"][bob] == {"metrics": breakdown["models"]["gpt-a"]["metrics"],
                                          "metadata": {"key_alias": "bob-key", "team_id": team_ref(week.team_a)}}
    assert set(breakdown["models"]["gpt-b"]["api_key_breakdown"]) == {alice}
    assert {e: v["metrics"]["spend"] for e, v in breakdown["entities"].items()} == {"alice": 0.25, "bob": 2.0}
    assert (breakdown["mcp_servers"], breakdown["endpoints"]) == ({}, {})


@pytest.fixture
def midnight(cast: Cast) -> Cast:
    """Three calls around midnight UTC between 5 and 6 March."""
    seed(cast.bob, "late", at(5, 23, 30), "1")
    seed(cast.bob, "early", at(6, 0, 30), "2")
    seed(cast.bob, "morning", at(6, 7, 30), "4")
    return cast


@pytest.mark.parametrize(("zone", "days"), [
    pytest.param(None, {"2026-03-05": 1.0, "2026-03-06": 6.0}, id="utc_by_default_case"),
    pytest.param("0", {"2026-03-05": 1.0, "2026-03-06": 6.0}, id="zero_offset_case"),
    pytest.param("480", {"2026-03-05": 7.0}, id="litellm_minutes_west_pst_case"),
    pytest.param("-330", {"2026-03-06": 7.0}, id="litellm_minutes_east_india_case"),
    pytest.param("America/Los_Angeles", {"2026-03-05": 7.0}, id="iana_name_case"),
    pytest.param("Asia/Tokyo", {"2026-03-06": 7.0}, id="iana_east_case"),
])
def test_days_are_cut_in_the_callers_time_zone(midnight: Cast, http: httpx.Client, zone: str | None,
                                               days: dict[str, float]) -> None:
    params = {"start_date": "2026-03-04", "end_date": "2026-03-07", **({"timezone": zone} if zone else {})}
    answer = get(http, ACTIVITY, **params)
    assert {r["date"]: r["metrics"]["spend"] for r in answer["results"]} == days
    assert answer["metadata"]["total_spend"] == 7.0


@pytest.mark.parametrize(("zone", "day"), [
    pytest.param("America/Los_Angeles", "2026-03-09", id="zone_rules_after_dst_start_case"),
    pytest.param("480", "2026-03-08", id="fixed_offset_case"),
])
def test_a_named_zone_follows_its_daylight_saving_rules(cast: Cast, http: httpx.Client, zone: str, day: str) -> None:
    seed(cast.bob, "after-dst", at(9, 7, 30), "1")  # 00:30 PDT (UTC-7) on 9 March, 23:30 at UTC-8 on the 8th
    answer = get(http, ACTIVITY, start_date="2026-03-08", end_date="2026-03-09", timezone=zone)
    assert [(r["date"], r["metrics"]["spend"]) for r in answer["results"]] == [(day, 1.0)]


@pytest.mark.parametrize(("zone", "spend"), [
    pytest.param(None, 1.0, id="utc_day_case"),
    pytest.param("480", 7.0, id="pst_day_case"),
    pytest.param("Asia/Tokyo", 0.0, id="tokyo_day_case"),
])
def test_a_range_of_one_local_day_holds_exactly_that_days_rows(midnight: Cast, http: httpx.Client,
                                                              zone: str | None, spend: float) -> None:
    params = {"start_date": "2026-03-05", "end_date": "2026-03-05", **({"timezone": zone} if zone else {})}
    answer = get(http, ACTIVITY, **params)
    assert answer["metadata"]["total_spend"] == spend
    assert [r["date"] for r in answer["results"]] == (["2026-03-05"] if spend else [])


@pytest.mark.parametrize(("actor", "spend", "users"), [
    pytest.param("root", 8.375, {"alice", "bob", "mallory"}, id="proxy_admin_case"),
    pytest.param("alice", 2.25, {"alice"}, id="team_admin_sees_own_user_case"),
    pytest.param("bob", 2.125, {"bob"}, id="member_case"),
    pytest.param("mallory", 4.0, {"mallory"}, id="other_team_case"),
])
def test_user_activity_is_the_callers_own_unless_it_reads_all(week: Cast, gateway: GatewayProcess, actor: str,
                                                            spend: float, users: set[str]) -> None:
    with client(gateway, week.actor(actor).secret) as http:
        answer = get(http, ACTIVITY, start_date="2026-03-01", end_date="2026-03-31")
    assert answer["metadata"]["total_spend"] == spend
    assert {e for r in answer["results"] for e in r["breakdown"]["entities"]} == users


@pytest.mark.parametrize(("actor", "params", "spend", "teams"), [
    pytest.param("root", {}, 8.375, {"team-a", "team-b"}, id="proxy_admin_all_teams_case"),
    pytest.param("root", {"team_ids": "A"}, 4.375, {"team-a"}, id="proxy_admin_one_team_case"),
    pytest.param("root", {"exclude_team_ids": "A"}, 4.0, {"team-b"}, id="proxy_admin_excludes_case"),
    pytest.param("root", {"team_ids": "nonexistent"}, 0.0, set(), id="proxy_admin_unknown_team_case"),
    pytest.param("alice", {}, 4.375, {"team-a"}, id="team_admin_whole_team_case"),
    pytest.param("bob", {"team_ids": "A"}, 2.125, {"team-a"}, id="member_own_keys_case"),
    pytest.param("mallory", {}, 4.0, {"team-b"}, id="other_team_admin_case"),
])
def test_team_activity_by_role(week: Cast, gateway: GatewayProcess, actor: str, params: dict[str, str],
                               spend: float, teams: set[str]) -> None:
    named = {k: v.replace("A", team_ref(week.team_a)) for k, v in params.items()}
    with client(gateway, week.actor(actor).secret) as http:
        answer = get(http, "/team/daily/activity", start_date="2026-03-01", end_date="2026-03-31", **named)
    assert answer["metadata"]["total_spend"] == spend
    aliases = {v["metadata"]["team_alias"] for r in answer["results"] for v in r["breakdown"]["entities"].values()}
    assert aliases == teams


def test_a_team_outside_the_callers_teams_is_not_found_whether_or_not_it_exists(week: Cast,
                                                                                gateway: GatewayProcess) -> None:
    with client(gateway, week.mallory.secret) as http:
        other = http.get("/team/daily/activity", params={"team_ids": team_ref(week.team_a),
                                                         "start_date": "2026-03-01", "end_date": "2026-03-31"})
        missing = http.get("/team/daily/activity", params={"team_ids": "no-such-team",
                                                           "start_date": "2026-03-01", "end_date": "2026-03-31"})
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json()["error"]["param"] == missing.json()["error"]["param"] == "team_ids"
    assert other.json()["error"]["message"].replace(team_ref(week.team_a), "X") == \
        missing.json()["error"]["message"].replace("no-such-team", "X")


@pytest.mark.parametrize(("params", "param"), [
    pytest.param({"end_date": "2026-03-05"}, "start_date", id="missing_start_case"),
    pytest.param({"start_date": "2026-03-05", "end_date": "March"}, "end_date", id="bad_date_case"),
    pytest.param({"start_date": "2026-03-05", "end_date": "2026-03-01"}, "end_date", id="reversed_case"),
    pytest.param({"start_date": "2026-03-05", "end_date": "2026-03-05", "timezone": "Mars/Olympus"}, "timezone",
                 id="unknown_zone_case"),
    pytest.param({"start_date": "2026-03-05", "end_date": "2026-03-05", "timezone": "5000"}, "timezone",
                 id="offset_too_wide_case"),
    pytest.param({"start_date": "2026-03-05", "end_date": "2026-03-05", "page_size": "0"}, "page_size",
                 id="bad_page_size_case"),
    pytest.param({"start_date": "2000-01-01", "end_date": "2026-03-05"}, "end_date", id="range_too_long_case"),
    pytest.param({"start_date": "2026-03-05", "end_date": "9999-12-31"}, "end_date", id="year_out_of_range_case"),
])
def test_bad_queries_are_400_naming_the_parameter(cast: Cast, http: httpx.Client, params: dict[str, str],
                                                  param: str) -> None:
    response = http.get(ACTIVITY, params=params)
    assert response.status_code == 400
    assert (response.json()["error"]["type"], response.json()["error"]["param"]) == ("invalid_request_error", param)


@pytest.fixture
def tagged(cast: Cast) -> Cast:
    seed(cast.alice, "t1", at(1, 9), "1", tags=["prod", "search"])
    seed(cast.bob, "t2", at(2, 9), "2", tags=["prod"])
    seed(cast.mallory, "t3", at(2, 10), "4", tags=["batch"])
    seed(cast.bob, "t4", at(3, 9), "8")
    return cast


@pytest.mark.parametrize(("actor", "params", "days", "total"), [
    pytest.param("root", {}, {"2026-03-02": {"prod": 2.0, "batch": 4.0}, "2026-03-01": {"prod": 1.0, "search": 1.0}},
                 7.0, id="every_tag_case"),
    pytest.param("root", {"tags": "prod"}, {"2026-03-02": {"prod": 2.0}, "2026-03-01": {"prod": 1.0}}, 3.0,
                 id="one_tag_case"),
    pytest.param("bob", {}, {"2026-03-02": {"prod": 2.0}}, 2.0, id="member_sees_own_rows_case"),
])
def test_tag_activity_counts_a_row_per_tag_and_once_in_the_totals(tagged: Cast, gateway: GatewayProcess, actor: str,
                                                                  params: dict[str, str],
                                                                  days: dict[str, dict[str, float]],
                                                                  total: float) -> None:
    with client(gateway, tagged.actor(actor).secret) as http:
        pages = [get(http, "/tag/daily/activity", start_date="2026-03-01", end_date="2026-03-31", page=n, page_size=1,
                     **params) for n in (1, 2)]
    results = [r for p in pages for r in p["results"]]
    assert {r["date"]: {t: v["metrics"]["spend"] for t, v in r["breakdown"]["entities"].items()}
            for r in results} == days
    assert [r["date"] for r in results] == sorted(days, reverse=True)
    assert {r["date"]: r["metrics"]["spend"] for r in results} == {d: sum(t.values()) for d, t in days.items()}
    assert [p["metadata"]["total_spend"] for p in pages] == [total, total]
    assert pages[0]["metadata"]["total_pages"] == len(days)
