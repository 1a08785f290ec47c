"""Keys made in the portal: within the team's models, budget and key lifetime; the secret shown once."""
from __future__ import annotations

from decimal import Decimal

from apps.teams.auth import hash_key
from apps.teams.models import VirtualKey
from apps.teams import services
from tests.web.conftest import WebCast


def form(**fields: object) -> dict[str, object]:
    return {"team": "search", "key_alias": "", "max_budget": "", "duration": "7d", **fields}


def test_a_new_key_is_mine_in_my_team_and_its_secret_shown_once(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.bob)
    response = client.post("/portal/keys/new/", form(key_alias="bob-new", models=["search-model"], max_budget="5"))
    assert response.status_code == 200
    secret = response.context["issued"]["key"]
    key = VirtualKey.objects.get(key_alias="bob-new")
    assert key.token_hash == hash_key(secret)
    assert (key.user_id, key.team_id, key.allowed_models, key.max_budget) == ("bob", "search", ["search-model"],
                                                                              Decimal("5"))
    assert key.expires is not None
    assert secret in response.content.decode()
    assert secret not in client.get("/portal/").content.decode()


def test_a_budget_above_the_teams_is_refused(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).post("/portal/keys/new/", form(key_alias="big", max_budget="51"))
    assert response.status_code == 200
    assert "max_budget 51.0000000000 is above the team&#x27;s max_budget of 50.0000000000." in response.content.decode()
    assert not VirtualKey.objects.filter(key_alias="big").exists()


def test_a_model_outside_my_teams_cannot_even_be_chosen(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).post("/portal/keys/new/", form(key_alias="x", models=["ads-model"]))
    assert "Select a valid choice. ads-model is not one of the available choices." in response.content.decode()
    assert not VirtualKey.objects.filter(key_alias="x").exists()


def test_a_team_of_someone_else_cannot_be_chosen(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).post("/portal/keys/new/", form(team="ads", key_alias="x"))
    assert "Select a valid choice. ads is not one of the available choices." in response.content.decode()
    assert not VirtualKey.objects.filter(key_alias="x").exists()


def test_the_teams_key_duration_caps_the_lifetime(web_cast: WebCast) -> None:
    services.team_update(team=web_cast.search, fields={"team_member_key_duration": "1d"})
    client = web_cast.client_for(web_cast.bob)
    refused = client.post("/portal/keys/new/", form(key_alias="long", duration="30d"))
    assert "Keys of team &#x27;Search&#x27; may live at most 1d." in refused.content.decode()
    never = client.post("/portal/keys/new/", form(key_alias="long", duration=""))
    assert "may live at most 1d" in never.content.decode()
    assert client.post("/portal/keys/new/", form(key_alias="short", duration="1d")).status_code == 200
    assert list(VirtualKey.objects.filter(key_alias__in=["long", "short"]).values_list("key_alias", flat=True)) == \
        ["short"]


def test_an_alias_of_one_of_my_keys_is_a_form_error(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.bob).post("/portal/keys/new/", form(key_alias="bob-search"))
    assert "key_alias: &#x27;bob-search&#x27; is taken by another key of the same user and team; choose another." \
        in response.content.decode()
    assert VirtualKey.objects.filter(key_alias="bob-search").count() == 1


def test_an_alias_of_another_teams_key_answers_as_a_new_one(web_cast: WebCast) -> None:
    """Another team's alias is no more taken than a made-up one: the form cannot tell which aliases exist."""
    client = web_cast.client_for(web_cast.bob)
    for alias in ("mallory-ads", "made-up-alias"):
        response = client.post("/portal/keys/new/", form(key_alias=alias))
        assert response.status_code == 200
        assert response.context["issued"]["key_alias"] == alias
    assert sorted(VirtualKey.objects.filter(key_alias="mallory-ads").values_list("user_id", flat=True)) == \
        ["bob", "mallory"]


def test_my_keys_are_listed_newest_first_a_page_at_a_time(web_cast: WebCast) -> None:
    for n in range(55):
        services.key_generate(fields={"user": web_cast.bob, "team": web_cast.search, "key_alias": f"bulk-{n:02d}"})
    client = web_cast.client_for(web_cast.bob)
    first = client.get("/portal/")
    page = first.context["page"]
    assert (page.total, len(page.keys), page.keys[0].key_alias) == (56, 50, "bulk-54")
    assert 'id="my-key-count">56<' in first.content.decode()
    second = client.get("/portal/", {"after": page.next_after}).context["page"]
    assert ([k.key_alias for k in second.keys], second.next_after) == (["bulk-04", "bulk-03", "bulk-02", "bulk-01",
                                                                       "bulk-00", "bob-search"], "")
    assert "mallory-ads" not in {k.key_alias for k in page.keys + second.keys}
