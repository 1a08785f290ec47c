"""The dashboard's pages and CSV through Django's test client: who sees what, and numbers that match the rows."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.teams.models import SpendLog, SpendRollupMark
from apps.teams.rollup import spend_rollup
from gatewaysite.dashboard.span import period_of, span_from
from tests.dashboard.conftest import logged_in, row
from tests.teams.conftest import Cast

DAY = datetime(2026, 3, 5, tzinfo=UTC)
SPAN = {"start": "2026-03-01", "end": "2026-03-10", "tz": "UTC"}


def spend_csv(browser: Client, **query: str) -> list[dict[str, str]]:
    response = browser.get("/dashboard/export/spend.csv", {**SPAN, **query})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def both_teams(cast: Cast) -> None:
    row(cast.bob, "a-1", DAY + timedelta(hours=9), "0.40", tags=("team-a-secret",))
    row(cast.mallory, "b-1", DAY + timedelta(hours=9), "7.00", model="gpt-b", tags=("team-b-secret",))
    row(cast.mallory, "b-refused", DAY + timedelta(hours=10), "0", deployment="", status="refused", latency=0,
        limit_level="team", limit_kind="budget", limit_current=Decimal("7"), limit_max=Decimal("7"))


def test_anonymous_is_sent_to_login_and_a_plain_member_is_refused(cast: Cast) -> None:
    response = Client().get("/dashboard/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/dashboard/")
    for path in ("/dashboard/", "/dashboard/keys/", "/dashboard/export/spend.csv", "/dashboard/why/?request_id=a-1"):
        assert logged_in(cast.bob.user).get(path).status_code == 403, path


def test_a_team_admin_sees_only_its_teams_spend_pages_and_csv(cast: Cast) -> None:
    both_teams(cast)
    spend_rollup()
    alice = logged_in(cast.alice.user)
    page = alice.get("/dashboard/", SPAN)
    assert page.status_code == 200
    assert page.context["totals"].cost == Decimal("0.40")
    assert [t.name for t in page.context["teams"]] == [cast.team_a.team_id]
    assert [k.label for k in page.context["top_keys"]] == ["alice-key", "bob-key"]  # team A's keys only
    assert [t.label for t in page.context["tags"]] == ["team-a-secret"]
    assert page.context["refusals"] == []
    body = page.content.decode()
    for secret in ("team-b", "gpt-b", "mallory", "team-b-secret", "7.00"):
        assert secret not in body, secret
    assert {(r["team_id"], r["spend"]) for r in spend_csv(alice)} == {(cast.team_a.team_id, "0.4000000000")}
    keys = alice.get("/dashboard/keys/")
    assert [k.key_alias for k in keys.context["page"].keys] == ["alice-key", "bob-key"]  # no spend: oldest first
    for by in ("model", "deployment"):
        text = alice.get("/dashboard/export/spend.csv", {**SPAN, "by": by}).content.decode()
        assert "gpt-a" in text or "d-1" in text
        assert "gpt-b" not in text
    assert alice.get("/dashboard/why/", {"request_id": "b-1"}).status_code == 404
    keys_csv = alice.get("/dashboard/export/keys.csv", SPAN).content.decode()
    assert "mallory" not in keys_csv and "bob-key" in keys_csv
    assert alice.get("/dashboard/keys/", {"q": "mallory"}).context["page"].keys == []


def test_staff_see_every_team_and_the_refusal_with_its_reason(cast: Cast, staff) -> None:
    both_teams(cast)
    page = logged_in(staff).get("/dashboard/", SPAN)  # nothing rolled up yet: the raw rows answer alone
    assert page.context["totals"].cost == Decimal("7.40")
    assert page.context["totals"].counts["refusals"] == 1
    refused = page.context["refusals"][0]
    assert (refused.request_id, refused.limit_level, refused.limit_kind) == ("b-refused", "team", "budget")
    assert "why?" in page.content.decode()


def test_days_are_cut_in_the_viewers_zone_and_none_counts_twice(cast: Cast, staff) -> None:
    # 22:30 UTC on the 4th is 23:30 in Berlin (the 4th); 23:30 UTC is 00:30 on the 5th in Berlin.
    row(cast.bob, "late-4th", datetime(2026, 3, 4, 22, 30, tzinfo=UTC), "1")
    row(cast.bob, "berlin-5th", datetime(2026, 3, 4, 23, 30, tzinfo=UTC), "2")
    row(cast.bob, "utc-5th", datetime(2026, 3, 5, 12, 0, tzinfo=UTC), "4")
    spend_rollup()
    row(cast.bob, "after-rollup", datetime(2026, 3, 5, 23, 10, tzinfo=UTC), "8")  # 00:10 on the 6th in Berlin
    browser = logged_in(staff)
    by_day = {zone: {r["period"]: Decimal(r["spend"]) for r in spend_csv(browser, tz=zone)}
              for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata", "-60")}
    assert by_day["UTC"] == {"2026-03-04": 3, "2026-03-05": 12}
    assert by_day["Europe/Berlin"] == {"2026-03-04": 1, "2026-03-05": 6, "2026-03-06": 8}
    assert by_day["Asia/Kolkata"] == {"2026-03-05": 7, "2026-03-06": 8}  # +05:30: read from the raw rows
    assert by_day["-60"] == by_day["Europe/Berlin"]  # LiteLLM's minutes behind UTC (Berlin's winter offset)
    for days in by_day.values():
        assert sum(days.values()) == 15  # every row on exactly one day
    one_day = spend_csv(browser, start="2026-03-05", end="2026-03-05", tz="Europe/Berlin")
    assert sum(Decimal(r["spend"]) for r in one_day) == 6


def test_a_half_hour_zone_reads_cells_and_splits_only_the_hour_its_midnight_cuts(cast: Cast, staff) -> None:
    # Kolkata's midnight is 18:30 UTC: the 18:00 hour holds rows of two local days, every other hour one.
    row(cast.bob, "ist-4th", datetime(2026, 3, 4, 18, 10, tzinfo=UTC), "1")  # 23:40 on the 4th
    row(cast.bob, "ist-5th", datetime(2026, 3, 4, 18, 50, tzinfo=UTC), "2", tags=("split",))  # 00:20 on the 5th
    row(cast.mallory, "ist-5th-noon", datetime(2026, 3, 5, 6, 30, tzinfo=UTC), "4", tags=("split",))  # noon
    spend_rollup()
    SpendLog.objects.filter(request_id="ist-5th-noon").delete()  # pruned by retention: its cell still holds it
    row(cast.bob, "ist-after", datetime(2026, 3, 5, 18, 40, tzinfo=UTC), "8")  # 00:10 on the 6th, not rolled up
    browser = logged_in(staff)
    days = {(r["period"], r["team_id"]): Decimal(r["spend"]) for r in spend_csv(browser, tz="Asia/Kolkata")}
    team_a, team_b = cast.team_a.team_id, cast.team_b.team_id
    assert days == {("2026-03-04", team_a): 1, ("2026-03-05", team_a): 2, ("2026-03-05", team_b): 4,
                    ("2026-03-06", team_a): 8}
    page = browser.get("/dashboard/", {**SPAN, "tz": "Asia/Kolkata"})
    assert (page.context["totals"].cost, page.context["totals"].requests) == (Decimal(15), 4)
    assert [(t.label, t.cost) for t in page.context["tags"]] == [("split", Decimal(6))]
    one_day = browser.get("/dashboard/", {"start": "2026-03-05", "end": "2026-03-05", "tz": "Asia/Kolkata"})
    assert one_day.context["totals"].cost == Decimal(6)  # the 18:00 hour's earlier half is the 4th's


def tagged_rows(cast: Cast) -> None:
    """Every 7 hours from the 1st to the 12th, two teams, two tags, some rows carrying both; one not rolled up."""
    for n in range(40):
        carried = ("a", "b") if n % 5 == 0 else ("a",) if n % 2 else ("b",)
        row(cast.bob if n % 3 else cast.mallory, f"t{n}", datetime(2026, 3, 1, 3, tzinfo=UTC) + timedelta(hours=7 * n),
            f"0.{n + 10}", tags=carried)
    spend_rollup()
    row(cast.bob, "t-late", datetime(2026, 3, 6, 12, tzinfo=UTC), "1.00", tags=("a",))


def test_spend_by_tag_over_long_spans_matches_the_rows_in_every_zone_and_while_the_grains_lag(cast: Cast, staff) -> None:
    tagged_rows(cast)
    team_a = (cast.team_a.team_id,)

    def expected(zone: str, teams: tuple[str, ...] | None) -> dict[str, Decimal]:
        span = span_from(QueryDict(urlencode({**SPAN, "tz": zone})))
        found: dict[str, Decimal] = {}
        for spend in SpendLog.objects.filter(start_time__gte=span.start, start_time__lt=span.end):
            for tag in spend.tags if teams is None or spend.team_id in teams else ():
                found[tag] = found.get(tag, Decimal(0)) + spend.cost
        return found

    for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"):  # New York's DST starts on the 8th
        for user, teams in ((staff, None), (cast.alice.user, team_a)):
            tags = {t.label: t.cost for t in logged_in(user).get("/dashboard/", {**SPAN, "tz": zone}).context["tags"]}
            assert tags == expected(zone, teams), (zone, teams)
    SpendRollupMark.objects.update(tag_grains_id=0)  # an older release rolled up: the grains are behind
    tags = {t.label: t.cost for t in logged_in(staff).get("/dashboard/", SPAN).context["tags"]}
    assert tags == expected("UTC", None)


def test_spend_by_tag_over_time_and_its_csv_match_the_rows_per_local_period(cast: Cast, staff) -> None:
    tagged_rows(cast)

    def expected(query: dict[str, str], teams: tuple[str, ...] | None) -> dict[tuple[str, str], Decimal]:
        span = span_from(QueryDict(urlencode(query)))
        found: dict[tuple[str, str], Decimal] = {}
        for spend in SpendLog.objects.filter(start_time__gte=span.start, start_time__lt=span.end):
            period = period_of(spend.start_time.astimezone(span.zone).date(), span.grain).isoformat()
            for tag in spend.tags if teams is None or spend.team_id in teams else ():
                found[(tag, period)] = found.get((tag, period), Decimal(0)) + spend.cost
        return found

    for zone, grain in (("UTC", "day"), ("Asia/Kolkata", "day"), ("America/New_York", "week")):
        query = {**SPAN, "tz": zone, "grain": grain}
        for user, teams in ((staff, None), (cast.alice.user, (cast.team_a.team_id,))):
            browser = logged_in(user)
            time = browser.get("/dashboard/", query).context["charts"]["time"]
            charted = {(tag, period): value for tag, values in time["tag"].items()
                       for period, value in zip(time["periods"], values, strict=True) if value}
            rows = expected(query, teams)
            assert charted == {key: float(cost) for key, cost in rows.items()}, (zone, teams)
            text = browser.get("/dashboard/export/spend.csv", {**query, "by": "tag"}).content.decode()
            table = list(csv.reader(io.StringIO(text)))
            assert table[0] == ["period", "tag", "spend", "requests"]
            assert {(tag, period): Decimal(cost) for period, tag, cost, _ in table[1:]} == rows, (zone, teams)


def test_an_overview_costs_the_same_statements_however_many_rows_and_days(cast: Cast, staff) -> None:
    def statements(**query: str) -> int:
        browser.get("/dashboard/", {**SPAN, **query})  # the session and the template cache warm
        with CaptureQueriesContext(connection) as captured:
            assert browser.get("/dashboard/", {**SPAN, **query}).status_code == 200
        return len(captured.captured_queries)

    browser = logged_in(staff)
    both_teams(cast)
    spend_rollup()
    few = statements()
    for n in range(60):
        row(cast.bob if n % 2 else cast.mallory, f"more-{n}", DAY + timedelta(hours=n), "0.01", tags=("t",),
            model=f"m{n % 5}", deployment=f"d{n % 5}")
    spend_rollup()
    row(cast.bob, "after", DAY, "0.01")
    assert statements() == few == 15  # whole UTC days: no hourly cells to read
    # Session, user, the marks, 3 x (hourly cells, raw rows, daily cells), 2 for the top keys, 3 for the tags (hourly
    # and daily cells, raw rows: read per period, for the chart over time and the totals), the teams and the refusals.
    assert statements(start="2026-01-01", end="2026-03-31", grain="week", tz="Europe/Berlin") == 19


def test_totals_cover_the_whole_span_rolled_up_or_not(cast: Cast, staff) -> None:
    for n in range(120):
        row(cast.bob if n % 2 else cast.mallory, f"r{n}", DAY + timedelta(minutes=7 * n), "0.01",
            model=f"m{n % 12}", deployment=f"d{n % 12}")
    spend_rollup()
    for n in range(120, 150):
        row(cast.bob, f"r{n}", DAY + timedelta(minutes=7 * n), "0.01")
    browser = logged_in(staff)
    for grain in ("day", "week", "month"):
        page = browser.get("/dashboard/", {**SPAN, "grain": grain})
        assert page.context["totals"].cost == Decimal("1.50") == sum(r.cost for r in SpendLog.objects.all())
        assert page.context["totals"].requests == 150
        charted = sum(sum(values) for values in page.context["charts"]["time"]["model"].values())
        assert round(charted, 6) == 1.5  # the top models and "other" together
    assert sum(Decimal(r["spend"]) for r in spend_csv(browser)) == Decimal("1.50")


def test_deployment_errors_and_latency_percentiles(cast: Cast, staff) -> None:
    for n in range(20):
        row(cast.bob, f"ok{n}", DAY, "0", latency=150)  # below 200 ms
    for n in range(5):
        row(cast.bob, f"bad{n}", DAY, "0", latency=3000, status="failure")  # 1600..3200 ms
    spend_rollup()
    [stats] = logged_in(staff).get("/dashboard/", SPAN).context["deployments"]
    assert (stats["deployment"], stats["requests"], stats["failures"], stats["error_rate"]) == ("d-1", 25, 5, 0.2)
    assert 100 <= stats["p50"] <= 200 and 1600 <= stats["p95"] <= 3200


@pytest.mark.parametrize("query", [pytest.param({"start": "2026-13-01"}, id="bad_date_case"),
                                   pytest.param({"tz": "Mars/Olympus"}, id="bad_zone_case"),
                                   pytest.param({"grain": "hour"}, id="bad_grain_case"),
                                   pytest.param({"start": "2026-03-05", "end": "2026-03-01"}, id="reversed_case")])
def test_a_bad_query_is_a_400_naming_it(cast: Cast, staff, query: dict[str, str]) -> None:
    response = logged_in(staff).get("/dashboard/", query)
    assert response.status_code == 400
    assert f"'{next(iter(query))}'" in response.content.decode().replace("&#x27;", "'")


def test_key_list_is_paginated_and_searched_by_the_database(cast: Cast, staff) -> None:
    from tests.teams.conftest import make_key

    for n in range(60):
        make_key(cast.bob.user, cast.team_a, key_alias=f"bulk-{n:02d}", spend=Decimal(n % 30))
    browser = logged_in(staff)
    first = browser.get("/dashboard/keys/").context["page"]
    assert (first.total, len(first.keys), first.keys[0].key_alias) == (63, 50, "bulk-29")  # dearest first
    second = browser.get("/dashboard/keys/", {"after": first.next_after}).context["page"]
    assert (len(second.keys), second.next_after) == (13, "")
    seen = [k.key_alias for k in first.keys + second.keys]
    assert sorted(seen) == sorted(["alice-key", "bob-key", "mallory-key"] + [f"bulk-{n:02d}" for n in range(60)])
    searched = browser.get("/dashboard/keys/", {"q": "bulk-0"}).context["page"]
    assert [k.key_alias for k in searched.keys] == [f"bulk-{n:02d}" for n in range(9, -1, -1)]
    assert browser.get("/dashboard/keys/", {"after": "x:y"}).status_code == 400


def test_the_shared_login_logs_a_staff_user_into_the_dashboard_in_the_shared_theme(cast: Cast, staff) -> None:
    browser = Client()
    login = browser.get("/dashboard/", follow=True).content.decode()
    assert 'id="login-form"' in login and 'href="/accounts/password_reset/"' in login
    assert browser.get("/dashboard/login/").status_code == 404  # no second login page
    response = browser.post("/accounts/login/", {"username": "root-staff", "password": "pw-staff-1234",
                                                 "next": "/dashboard/"})
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    page = browser.get("/dashboard/").content.decode()
    assert 'href="/static/tollgate/theme.css"' in page and "<style" not in page
    assert 'class="tg tg-dashboard' in page and 'action="/accounts/logout/"' in page


def test_every_link_and_asset_keeps_a_path_prefix(cast: Cast, staff) -> None:
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.files.storage import storages
    from django.urls import set_script_prefix
    from django.utils.functional import empty

    browser = logged_in(staff)
    set_script_prefix("/gateway/")  # what the server's handler sets from SCRIPT_NAME (the test client does not)
    # STATIC_URL takes the script prefix once per process (as a server started behind its prefix does): read it anew.
    settings.__dict__.pop("STATIC_URL", None)
    storages._storages.pop("staticfiles", None)
    staticfiles_storage._wrapped = empty
    try:
        page = browser.get("/dashboard/", SPAN, SCRIPT_NAME="/gateway")
        body = page.content.decode()
    finally:
        set_script_prefix("/")
        settings.__dict__.pop("STATIC_URL", None)
        storages._storages.pop("staticfiles", None)
        staticfiles_storage._wrapped = empty
    assert page.status_code == 200
    for link in ('href="/gateway/dashboard/keys/"', 'src="/gateway/static/vendor/chartjs/chart.umd.min.js"',
                 'data-feed="/gateway/dashboard/feed/"', 'action="/gateway/dashboard/"'):
        assert link in body, link
    assert 'href="/dashboard/' not in body and 'src="/static/' not in body
