"""The key and team admin: a new secret shown once, actions through the services, budgets beside what they cap."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.admin.templatetags.admin_list import result_headers
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.teams.auth import hash_key
from apps.teams.models import SpendLog, Team, VirtualKey
from tests.web.conftest import WebCast, form_as_posted

KEY_FORM = {"key_alias": "", "user": "", "team": "", "organization": "", "allowed_models": "[]", "duration": "",
            "blocked": "", "budget": "", "max_budget": "", "soft_budget": "", "budget_duration": "", "rpm_limit": "",
            "tpm_limit": "", "max_parallel_requests": "", "metadata": "{}", "tags": "[]", "aliases": "{}",
            "allowed_routes": "[]"}


def admin_client(cast: WebCast) -> Client:
    return cast.client_for(cast.root)


def act(client: Client, action: str, *keys: VirtualKey) -> object:
    return client.post("/admin/teams/virtualkey/", {"action": action, "_selected_action": [k.pk for k in keys]})


def test_creating_a_key_shows_its_secret_once_with_a_copy_button(web_cast: WebCast) -> None:
    client = admin_client(web_cast)
    response = client.post("/admin/teams/virtualkey/add/", {**KEY_FORM, "key_alias": "ci", "team": "search",
                                                            "max_budget": "3", "duration": "30d"})
    assert response.status_code == 200
    secret = response.context["secret"]
    key = VirtualKey.objects.get(key_alias="ci")
    assert key.token_hash == hash_key(secret) and key.team_id == "search" and key.expires is not None
    page = response.content.decode()
    assert secret in page and 'data-copy-target="key-secret"' in page
    assert secret not in client.get(f"/admin/teams/virtualkey/{key.pk}/change/").content.decode()
    assert secret not in client.get("/admin/teams/virtualkey/").content.decode()


def test_the_key_list_shows_spend_against_budget_status_and_last_use(web_cast: WebCast) -> None:
    page = admin_client(web_cast).get("/admin/teams/virtualkey/").content.decode()
    assert "$1.5000 / $10.0000" in page and 'title="15%"' in page
    assert "$7.2500</span> <span class=\"tg-muted\">no budget" in page
    assert page.count('<span class="tg-badge active">active</span>') == 2
    assert "never" in page


def test_a_deep_page_of_keys_costs_the_queries_of_the_first_and_shows_last_use_unsorted(web_cast: WebCast) -> None:
    client = admin_client(web_cast)
    team = web_cast.bob_key.team
    VirtualKey.objects.bulk_create(VirtualKey(token_hash=f"h{n}", key_alias=f"bulk-{n:03}", team=team)
                                   for n in range(120))
    used = datetime(2026, 3, 5, 9, tzinfo=UTC)
    for n, at in ((0, used), (1, used + timedelta(hours=2))):
        SpendLog.objects.create(request_id=f"r{n}", key_id=web_cast.mallory_key.pk, key_hash="x", model_alias="m",
                                cost=Decimal(0), status="success", start_time=at, end_time=at)

    def page(**query: str) -> tuple[list[str], int]:
        with CaptureQueriesContext(connection) as captured:
            found = client.get("/admin/teams/virtualkey/", query).context["cl"].result_list
        return [key.key_alias for key in found], len(captured.captured_queries)

    first, first_queries = page()
    last, last_queries = page(p="3")
    assert (len(first), len(last), first_queries) == (50, 22, last_queries)
    assert last[-2:] == ["mallory-ads", "bob-search"]  # newest first, as before
    listed = client.get("/admin/teams/virtualkey/", {"p": "3"})
    assert [key.last_used for key in listed.context["cl"].result_list][-2:] == [used + timedelta(hours=2), None]
    assert "March 5, 2026" in listed.content.decode() and "never" in listed.content.decode()
    # "last used" is not sortable (ordering every key by its newest spend row took 8.7 s with 400,000 keys):
    # asking for it leaves the usual order, and its header has no sort link.
    by_use, _ = page(o="-6")
    assert by_use == first
    header = next(h for h in result_headers(client.get("/admin/teams/virtualkey/").context["cl"])
                  if h["text"] == "last used")
    assert header["sortable"] is False


def test_block_and_unblock_go_through_the_key_service(web_cast: WebCast) -> None:
    client = admin_client(web_cast)
    act(client, "block", web_cast.bob_key)
    assert VirtualKey.objects.get(pk=web_cast.bob_key.pk).blocked
    blocked = client.get("/admin/teams/virtualkey/?blocked__exact=1").content.decode()
    assert "bob-search" in blocked and "mallory-ads" not in blocked
    act(client, "unblock", web_cast.bob_key)
    assert not VirtualKey.objects.get(pk=web_cast.bob_key.pk).blocked


def test_reset_spend_zeroes_the_keys_spend(web_cast: WebCast) -> None:
    act(admin_client(web_cast), "reset_spend", web_cast.bob_key, web_cast.mallory_key)
    assert list(VirtualKey.objects.order_by("id").values_list("spend", flat=True)) == [Decimal(0), Decimal(0)]


def test_regenerate_shows_the_new_secret_once_and_keeps_the_spend(web_cast: WebCast) -> None:
    response = act(admin_client(web_cast), "regenerate", web_cast.bob_key)
    secret = response.context["secret"]  # type: ignore[attr-defined]
    key = VirtualKey.objects.get(pk=web_cast.bob_key.pk)
    assert key.token_hash == hash_key(secret) != web_cast.bob_key.token_hash
    assert (key.spend, key.rotation_count) == (Decimal("1.5"), 1)


def test_the_expired_filter_lists_only_expired_keys(web_cast: WebCast) -> None:
    VirtualKey.objects.filter(pk=web_cast.mallory_key.pk).update(expires="2020-01-01T00:00:00Z")
    client = admin_client(web_cast)
    expired = client.get("/admin/teams/virtualkey/?expired=yes").content.decode()
    assert "mallory-ads" in expired and "bob-search" not in expired and "tg-badge expired" in expired
    assert "mallory-ads" not in client.get("/admin/teams/virtualkey/?expired=no").content.decode()


def test_the_team_page_holds_its_members_keys_and_budget_window(web_cast: WebCast) -> None:
    page = admin_client(web_cast).get(f"/admin/teams/team/{web_cast.search.pk}/change/").content.decode()
    assert "bob-search" in page and web_cast.bob_key.key_name in page
    assert 'value="alice"' in page and 'value="bob"' in page
    assert "lifetime (never resets)" in page and "mallory-ads" not in page


def test_a_team_of_many_keys_lists_its_dearest_twenty_and_links_to_all(web_cast: WebCast) -> None:
    client = admin_client(web_cast)
    path = f"/admin/teams/team/{web_cast.search.pk}/change/"

    def team_page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(path).content.decode()
        return page, len(captured.captured_queries)

    def more_keys(start: int, count: int) -> None:
        VirtualKey.objects.bulk_create(VirtualKey(token_hash=f"h{n}", key_name=f"sk-...{n:04}", key_alias=f"many-{n:03}",
                                                  team=web_cast.search, user=web_cast.bob, spend=Decimal(n))
                                       for n in range(start, start + count))

    more_keys(0, 30)
    page, queries = team_page()
    shown = sorted(int(alias[5:]) for alias in set(re.findall(r"many-\d{3}", page)))
    assert shown == list(range(10, 30))  # the 20 dearest, bob-search ($1.50) and the cheapest ten left out
    assert "bob-search" not in page
    assert 'href="/admin/teams/virtualkey/?team__team_id__exact=search" id="team-keys">all 31 key(s)' in page
    more_keys(30, 200)
    assert team_page()[1] == queries  # no query per key or per key's user
    listed = client.get("/admin/teams/virtualkey/?team__team_id__exact=search").context["cl"]
    assert listed.result_count == 231
    saved = client.post(path, {**form_as_posted(client.get(path)), "team_alias": "Search 2"})
    assert saved.status_code == 302
    assert Team.objects.get(team_id="search").team_alias == "Search 2"


def test_a_team_made_in_the_admin_starts_its_budget_window(web_cast: WebCast) -> None:
    form = {"team_id": "infra", "team_alias": "Infra", "organization": "", "allowed_models": "[]", "max_budget": "20",
            "soft_budget": "", "budget_duration": "1mo", "rpm_limit": "", "tpm_limit": "", "max_parallel_requests": "",
            "team_member_budget": "", "team_member_budget_duration": "", "team_member_rpm_limit": "",
            "team_member_tpm_limit": "", "team_member_key_duration": "", "metadata": "{}", "tags": "[]",
            "model_aliases": "{}", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
            "keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0"}
    response = admin_client(web_cast).post("/admin/teams/team/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    team = Team.objects.get(team_id="infra")
    assert team.max_budget == Decimal("20") and team.budget_reset_at is not None
    page = admin_client(web_cast).get(f"/admin/teams/team/{team.pk}/change/").content.decode()
    assert "every 1mo, next reset" in page


def test_members_added_in_the_team_page_start_their_budget_window(web_cast: WebCast) -> None:
    from apps.teams import services
    from apps.teams.models import TeamMembership

    services.team_update(team=web_cast.ads, fields={"budget_duration": "7d"})
    page = admin_client(web_cast).get(f"/admin/teams/team/{web_cast.ads.pk}/change/")
    member = TeamMembership.objects.get(team=web_cast.ads, user=web_cast.mallory)
    form = {**{f: "" for f in page.context["adminform"].form.fields}, "team_alias": "Ads", "allowed_models": '["ads-model"]',
            "budget_duration": "7d", "metadata": "{}", "tags": "[]", "model_aliases": "{}",
            "memberships-TOTAL_FORMS": "2", "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(member.pk), "memberships-0-team": "ads", "memberships-0-user": "mallory",
            "memberships-0-role": "admin", "memberships-0-DELETE": "on",
            "memberships-1-team": "ads", "memberships-1-user": "bob", "memberships-1-role": "user",
            "keys-TOTAL_FORMS": "1", "keys-INITIAL_FORMS": "1", "keys-0-id": str(web_cast.mallory_key.pk),
            "keys-0-team": "ads"}
    form.pop("team_id", None)
    response = admin_client(web_cast).post(f"/admin/teams/team/{web_cast.ads.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(TeamMembership.objects.filter(team=web_cast.ads).values_list("user_id", "role")) == [("bob", "user")]
    assert TeamMembership.objects.get(team=web_cast.ads, user=web_cast.bob).budget_reset_at is not None
    assert not VirtualKey.objects.filter(pk=web_cast.mallory_key.pk).exists()  # a removed member's keys go too


def test_key_search_uses_prefixes_and_whole_ids_and_the_count_is_capped(web_cast: WebCast, monkeypatch) -> None:
    from apps.teams import admin_paging

    client = admin_client(web_cast)

    def listed(**query: str) -> set[str]:
        return {key.key_alias for key in client.get("/admin/teams/virtualkey/", query).context["cl"].result_list}

    assert listed(q="bob-") == {"bob-search"}  # an alias by its start
    assert listed(q="Ads") == {"mallory-ads"}  # a team by its alias
    assert listed(q="mallory") == {"mallory-ads"}  # a user id, or an alias's start
    assert listed(q=web_cast.bob_key.token_hash) == {"bob-search"}
    assert listed(q="search") == {"bob-search"}  # a team id (no alias starts with it)
    assert listed(q="ob-sea") == set()  # not a substring scan
    monkeypatch.setattr(admin_paging.CappedCountPaginator, "cap", 1)
    count = client.get("/admin/teams/virtualkey/").context["cl"].result_count
    assert count >= 2  # past the cap: the planner's estimate on PostgreSQL, the cap + 1 elsewhere
