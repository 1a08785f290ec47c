"""The spend-row admin reads indexes only: fixed-choice filters, whole-id search, a bounded time range."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.teams.models import SpendLog
from apps.teams.rollup import spend_rollup
from tests.web.conftest import WebCast

PATH = "/admin/teams/spendlog/"


def spend_rows() -> None:
    now = timezone.now()
    rows = [("r-new", "search", "openai", "success", now - timedelta(minutes=5)),
            ("r-old", "search", "anthropic", "failure", now - timedelta(days=3)),
            ("r-ads", "ads", "anthropic", "refused", now - timedelta(hours=2))]
    for request_id, team, provider, status, at in rows:
        SpendLog.objects.create(request_id=request_id, key_hash=f"hash-{team}", team_id=team, model_alias="m",
                                provider=provider, status=status, cost=Decimal("0.1"), start_time=at, end_time=at)
    spend_rollup()


def listed(client: object, query: str) -> tuple[list[str], list[str]]:
    """The request ids a list page shows, and its SQL (upper case)."""
    with CaptureQueriesContext(connection) as captured:
        found = client.get(f"{PATH}?{query}").context["cl"].result_list  # type: ignore[attr-defined]
    return [row.request_id for row in found], [q["sql"].upper() for q in captured.captured_queries]


def test_filters_offer_fixed_choices_and_read_no_distinct(web_cast: WebCast) -> None:
    spend_rows()
    client = web_cast.client_for(web_cast.root)
    page = client.get(PATH).content.decode()
    assert "?provider=anthropic" in page and "?provider=openai" in page and "?status=cancelled" in page
    cases = {"provider=anthropic": ["r-ads", "r-old"], "status=failure": ["r-old"], "team_id=ads": ["r-ads"],
             "since=1h": ["r-new"], "since=24h": ["r-new", "r-ads"], "": ["r-new", "r-ads", "r-old"],
             "status=success&team_id=ads": []}
    for query, expected in cases.items():
        ids, sql = listed(client, query)
        assert ids == expected, query
        on_rows = [s for s in sql if '"TEAMS_SPENDLOG"' in s]
        assert not any("DISTINCT" in s or "DATE_TRUNC" in s or "MIN(" in s for s in on_rows), (query, on_rows)


def test_search_matches_a_whole_id_on_its_index(web_cast: WebCast) -> None:
    spend_rows()
    client = web_cast.client_for(web_cast.root)
    cases = {"r-old": ["r-old"], "hash-ads": ["r-ads"], "search": ["r-new", "r-old"], "r-": [], "nothing": []}
    for term, expected in cases.items():
        ids, sql = listed(client, f"q={term}")
        assert ids == expected, term
        assert not any(" LIKE " in s or " OR " in s for s in sql), (term, sql)
    assert client.get(f"{PATH}add/").status_code == 403
    row = SpendLog.objects.get(request_id="r-old")
    assert client.post(f"{PATH}{row.pk}/change/", {"cost": "0"}).status_code == 403
    assert SpendLog.objects.get(pk=row.pk).cost == Decimal("0.1")
