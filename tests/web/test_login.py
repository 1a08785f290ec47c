"""One login for the admin and the portal (the first admin from the environment), logout and password reset."""
from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from apps.teams.models import User
from tests.web.conftest import WebCast


@pytest.fixture
def first_admin(db: None, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("TOLLGATE_ADMIN_USER", "ops")
    monkeypatch.setenv("TOLLGATE_ADMIN_PASSWORD", "ops-password-123")
    call_command("ensure_admin")
    return "ops", "ops-password-123"


def test_the_first_admin_from_the_environment_logs_in_once_for_admin_and_portal(first_admin: tuple[str, str]) -> None:
    username, password = first_admin
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert "Forgot your password?" in page and "single sign-on" not in page
    response = client.post("/accounts/login/", {"username": username, "password": password, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/portal/").status_code == 200
    assert User.objects.get(username="ops").user_role == User.Role.PROXY_ADMIN


def test_ensure_admin_resets_the_password_to_the_environments(first_admin: tuple[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_ADMIN_PASSWORD", "a-new-password-456")
    call_command("ensure_admin")
    assert Client().login(username="ops", password="a-new-password-456")


def test_login_lands_on_the_portal_and_a_wrong_password_is_refused(web_cast: WebCast) -> None:
    client = Client()
    wrong = client.post("/accounts/login/", {"username": "bob", "password": "nope"})
    assert wrong.status_code == 200 and "Please enter a correct username and password" in wrong.content.decode()
    right = client.post("/accounts/login/", {"username": "bob", "password": "correct-horse-battery"})
    assert right["Location"] == "/portal/"


def test_logout_ends_the_session(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.bob)
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert client.get("/portal/").status_code == 302


def test_password_reset_mails_a_link_that_sets_a_new_password(web_cast: WebCast) -> None:
    client = Client()
    response = client.post("/accounts/password_reset/", {"email": "bob@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    (message,) = mail.outbox
    assert message.to == ["bob@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "brand-new-password", "new_password2": "brand-new-password"})
    assert done["Location"] == "/accounts/reset/done/"
    assert Client().login(username="bob", password="brand-new-password")


def test_password_reset_for_an_unknown_address_sends_nothing(db: None) -> None:
    Client().post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert mail.outbox == []


def test_the_admins_login_is_the_one_login_page(db: None) -> None:
    response = Client().get("/admin/login/?next=/admin/teams/team/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/teams/team/"
