"""Behind a path prefix (FORCE_SCRIPT_NAME=/gateway), over a real socket: whether the proxy strips the prefix or
passes it on, every link, form and asset carries it, and the API answers on both paths."""
from __future__ import annotations

import re

import httpx
import openai
import pytest

from apps.providers.mock_upstream import REPLY_PREFIX
from apps.teams import services
from apps.teams.models import User
from tests.conftest import MASTER_KEY, WEB_PREFIX, GatewayProcess

PREFIX = WEB_PREFIX
PAGES = ["/portal/", "/portal/keys/new/", "/portal/models/", "/portal/playground/", "/admin/",
         "/admin/teams/virtualkey/", "/admin/teams/team/", "/admin/routing/deployment/", "/admin/portal/auditlog/"]


def local_links(page: str) -> list[str]:
    return [link for link in re.findall(r'(?:href|action|src)="([^"]*)"', page) if link.startswith("/")]


def logged_in(gateway: GatewayProcess, strip: bool) -> httpx.Client:
    """A session of `root`, made through the login form as a browser would."""
    User.objects.create_superuser(username="root", email="root@example.com", password="prefix-password")
    base = gateway.url if strip else f"{gateway.url}{PREFIX}"
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/accounts/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token is not None
    done = client.post("/accounts/login/", data={"csrfmiddlewaretoken": token.group(1), "username": "root",
                                                 "password": "prefix-password", "next": f"{PREFIX}/portal/"},
                       headers={"Referer": f"{base}/accounts/login/"})
    assert done.status_code == 302 and done.headers["location"] == f"{PREFIX}/portal/"
    return client


@pytest.mark.parametrize("strip_case", [True, False], ids=["proxy_strips_prefix", "proxy_passes_prefix"])
def test_every_page_links_under_the_prefix(prefixed_gateway: GatewayProcess, example_models: None, strip_case: bool) -> None:
    client = logged_in(prefixed_gateway, strip_case)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        links = local_links(answer.text)
        assert links and [link for link in links if not link.startswith(f"{PREFIX}/")] == [], path
    theme = client.get("/static/tollgate/theme.css")
    assert theme.status_code == 200 and "--tg-accent" in theme.text


def test_an_anonymous_visitor_is_sent_to_the_prefixed_login(prefixed_gateway: GatewayProcess, example_models: None) -> None:
    answer = httpx.get(f"{prefixed_gateway.url}{PREFIX}/portal/")
    assert answer.status_code == 302
    assert answer.headers["location"] == f"{PREFIX}/accounts/login/?next={PREFIX}/portal/"


@pytest.mark.parametrize("path_case", ["/v1", f"{PREFIX}/v1"])
def test_the_api_answers_with_and_without_the_prefix(prefixed_gateway: GatewayProcess, example_models: None,
                                                     path_case: str) -> None:
    services.key_generate(fields={}, secret="sk-prefix-test-key-1")
    for key in (MASTER_KEY, "sk-prefix-test-key-1"):
        sdk = openai.OpenAI(api_key=key, base_url=f"{prefixed_gateway.url}{path_case}", max_retries=0, timeout=30)
        reply = sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == f"{REPLY_PREFIX} hi"
