"""Single sign-on against a real (mock) OpenID Connect provider, through the gateway over a socket."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from apps.teams import services
from apps.teams.models import TeamMembership, User
from tests.conftest import GatewayProcess
from tests.upstreams.oidc import OIDCProvider


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with OIDCProvider(client_id="tollgate", client_secret="oidc-client-secret") as idp:
        yield idp


@pytest.fixture(scope="module")
def sso_gateway(django_db_setup: Any, django_db_blocker: Any, provider: OIDCProvider,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(extra_env=provider.env(), log_dir=tmp_path_factory.mktemp("sso"))
    yield server
    server.stop()


@pytest.fixture
def teams(transactional_db: None) -> None:
    services.team_new(team_id="search", fields={"team_alias": "Search"})
    services.team_new(team_id="ads", fields={"team_alias": "Ads"})


def sign_in(gateway: GatewayProcess, provider: OIDCProvider, **claims: Any) -> httpx.Client:
    """The browser's trip: our login, the provider's authorize, our callback; the client holds the session."""
    provider.login_as(**claims)
    client = httpx.Client(base_url=gateway.url, timeout=30)
    start = client.get("/accounts/oidc/authenticate/", params={"next": "/portal/"})
    assert start.status_code == 302 and start.headers["location"].startswith(f"{provider.issuer}/authorize?")
    back = httpx.get(start.headers["location"])
    assert back.status_code == 302
    done = client.get(back.headers["location"])
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/portal/"
    return client


def test_the_login_page_offers_single_sign_on(sso_gateway: GatewayProcess, teams: None) -> None:
    page = httpx.get(f"{sso_gateway.url}/accounts/login/").text
    assert 'href="/accounts/oidc/authenticate/"' in page


def test_groups_map_to_team_memberships_and_roles(sso_gateway: GatewayProcess, provider: OIDCProvider,
                                                  teams: None) -> None:
    client = sign_in(sso_gateway, provider, sub="idp-123", email="dana@corp.example", preferred_username="dana",
                     groups=["team:search:admin", "team:ads", "team:missing", "staff-all"])
    page = client.get("/portal/").text
    assert "dana" in page and "Search" in page and "Ads" in page
    user = User.objects.get(sso_user_id="idp-123")
    assert (user.username, user.email, user.user_role, user.is_staff) == ("dana", "dana@corp.example",
                                                                          "internal_user", False)
    assert sorted(TeamMembership.objects.filter(user=user).values_list("team_id", "role")) == [
        ("ads", "user"), ("search", "admin")]
    assert client.get("/admin/").status_code == 302  # not staff


def test_a_later_login_applies_the_groups_again(sso_gateway: GatewayProcess, provider: OIDCProvider,
                                                teams: None) -> None:
    sign_in(sso_gateway, provider, sub="idp-9", preferred_username="erin", groups=["team:search", "team:ads"])
    sign_in(sso_gateway, provider, sub="idp-9", preferred_username="erin", groups=["team:ads:admin"])
    user = User.objects.get(sso_user_id="idp-9")
    assert list(TeamMembership.objects.filter(user=user).values_list("team_id", "role")) == [("ads", "admin")]
    assert User.objects.filter(username__startswith="erin").count() == 1


def test_the_admin_group_makes_a_proxy_admin_with_the_admin_open(sso_gateway: GatewayProcess,
                                                                 provider: OIDCProvider, teams: None) -> None:
    client = sign_in(sso_gateway, provider, sub="idp-root", preferred_username="ops", groups=["tollgate-admins"])
    assert client.get("/admin/").status_code == 200
    user = User.objects.get(sso_user_id="idp-root")
    assert (user.user_role, user.is_staff, user.is_superuser) == ("proxy_admin", True, True)


def test_a_local_user_with_the_same_name_is_not_taken_over(sso_gateway: GatewayProcess, provider: OIDCProvider,
                                                           teams: None) -> None:
    local, _ = services.user_new(user_id="frank", fields={"email": "frank@corp.example"}, password="local-pass-1")
    sign_in(sso_gateway, provider, sub="idp-f", preferred_username="frank", email="frank@corp.example")
    sso = User.objects.get(sso_user_id="idp-f")
    assert sso.pk != local.pk and sso.username == "frank-idp-f"
    local.refresh_from_db()
    assert local.sso_user_id is None and local.check_password("local-pass-1")


def test_a_token_for_another_client_is_refused(sso_gateway: GatewayProcess, provider: OIDCProvider,
                                               teams: None) -> None:
    provider.audience = "someone-else"
    try:
        provider.login_as(sub="idp-x", preferred_username="xavier")
        client = httpx.Client(base_url=sso_gateway.url, timeout=30)
        back = httpx.get(client.get("/accounts/oidc/authenticate/").headers["location"])
        failed = client.get(back.headers["location"])
    finally:
        provider.audience = provider.client_id
    assert failed.status_code == 302 and failed.headers["location"] == "/accounts/login/"
    assert not User.objects.filter(sso_user_id="idp-x").exists()
    assert client.get("/portal/").status_code == 302


def test_there_is_no_cap_on_users(sso_gateway: GatewayProcess, provider: OIDCProvider, teams: None) -> None:
    for number in range(30):
        sign_in(sso_gateway, provider, sub=f"idp-many-{number}", preferred_username=f"user{number}",
                groups=["team:search"])
    assert User.objects.filter(sso_user_id__startswith="idp-many-").count() == 30
    assert TeamMembership.objects.filter(team_id="search", user__sso_user_id__startswith="idp-many-").count() == 30
