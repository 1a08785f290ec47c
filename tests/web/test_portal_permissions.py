"""A member sees their own teams, keys, spend and models in the portal, never another team's; pages need a login."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apps.teams import services
from apps.teams.models import User, VirtualKey
from tests.web.conftest import WebCast


@pytest.mark.parametrize("path_case", ["/portal/", "/portal/keys/new/", "/portal/models/", "/portal/playground/"])
def test_portal_pages_send_an_anonymous_visitor_to_the_login(db: None, path_case: str) -> None:
    response = Client().get(path_case)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path_case}"


def test_home_lists_my_keys_teams_and_spend_only(web_cast: WebCast) -> None:
    page = web_cast.client_for(web_cast.bob).get("/portal/").content.decode()
    assert "bob-search" in page and web_cast.bob_key.key_name in page
    assert "$1.5000" in page and "Search" in page
    assert "mallory-ads" not in page and web_cast.mallory_key.key_name not in page
    assert "7.25" not in page and "Ads" not in page


def test_my_spend_is_the_users_own_and_keeps_revoked_keys(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.bob)
    User.objects.filter(pk=web_cast.bob.pk).update(spend=Decimal("2.25"))  # as the spend flush adds it
    client.post(f"/portal/keys/{web_cast.bob_key.pk}/revoke/")  # the revoked key's $1.50 stays in it
    page = client.get("/portal/").content.decode()
    assert '<div class="tg-stat" id="my-spend">$2.2500</div>' in page
    assert '<div class="tg-muted" id="my-spend-label">My spend (all my keys, revoked ones too)</div>' in page
    services.user_update(user=web_cast.bob, fields={"budget_duration": "7d"})
    page = client.get("/portal/").content.decode()
    assert 'id="my-spend-label">My spend this budget window (every 7d, next reset ' in page


def test_a_team_admin_sees_only_their_own_keys_in_the_portal(web_cast: WebCast) -> None:
    page = web_cast.client_for(web_cast.alice).get("/portal/").content.decode()
    assert "bob-search" not in page and "mallory-ads" not in page


def test_a_member_cannot_revoke_another_teams_key(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).post(f"/portal/keys/{web_cast.mallory_key.pk}/revoke/")
    assert response.status_code == 404
    assert VirtualKey.objects.filter(pk=web_cast.mallory_key.pk).exists()


def test_revoking_my_key_deletes_it(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).post(f"/portal/keys/{web_cast.bob_key.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert not VirtualKey.objects.filter(pk=web_cast.bob_key.pk).exists()


def test_revoke_needs_a_post(web_cast: WebCast) -> None:
    assert web_cast.client_for(web_cast.bob).get(f"/portal/keys/{web_cast.bob_key.pk}/revoke/").status_code == 405


def test_models_page_lists_my_teams_models_with_prices(web_cast: WebCast) -> None:
    page = web_cast.client_for(web_cast.bob).get("/portal/models/").content.decode()
    assert "search-model" in page and "gpt-4o-mini" in page and "ads-model" not in page
    assert "1.0000" in page and "2.0000" in page  # USD per million tokens


def test_a_member_is_not_let_into_the_admin(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.bob)
    response = client.get("/admin/teams/virtualkey/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_member_is_not_let_into_the_admin_change_page_of_a_key(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).get(f"/admin/teams/virtualkey/{web_cast.mallory_key.pk}/change/")
    assert response.status_code == 302


def test_the_playground_offers_only_my_models(web_cast: WebCast) -> None:
    page = web_cast.client_for(web_cast.mallory).get("/portal/playground/").content.decode()
    assert '<option value="ads-model"' in page and "search-model" not in page
    assert 'window.TOLLGATE_API = "/v1/chat/completions"' in page
