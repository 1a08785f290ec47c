"""Budgets edited where the thing they cap is: an end user's budget row from the end user's page, a user's and an
organization's budget window started (and restarted) by saving their page, as the management API does."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.teams import services
from apps.teams.models import EndUser, Organization, User
from tests.web.conftest import WebCast, form_as_posted

FORM = {"user_id": "customer-1", "alias": "", "allowed_model_region": "", "default_model": "", "budget": "",
        "max_budget": "3", "budget_duration": "1mo"}


def test_an_end_users_budget_is_set_on_its_page(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.root)
    assert client.post("/admin/teams/enduser/add/", FORM).status_code == 302
    customer = EndUser.objects.select_related("budget").get(user_id="customer-1")
    assert customer.budget is not None
    assert (customer.budget.max_budget, customer.budget.budget_duration) == (Decimal("3"), "1mo")
    assert customer.budget.budget_reset_at is not None
    page = client.get("/admin/teams/enduser/").content.decode()
    assert "$0.0000 / $3.0000" in page and "every 1mo, next reset" in page
    change = client.get(f"/admin/teams/enduser/{customer.pk}/change/").content.decode()
    assert 'name="max_budget" value="3' in change


def test_a_bad_window_is_a_form_error(web_cast: WebCast) -> None:
    response = web_cast.client_for(web_cast.root).post("/admin/teams/enduser/add/", {**FORM, "budget_duration": "3x"})
    assert response.status_code == 200 and "is not a duration" in response.content.decode()
    assert not EndUser.objects.exists()


def saved(client: object, path: str, **changes: str) -> None:
    """Post the change page at `path` back with `changes`; the admin must accept it."""
    page = client.get(path)  # type: ignore[attr-defined]
    response = client.post(path, {**form_as_posted(page), **changes})  # type: ignore[attr-defined]
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response


def test_a_users_budget_window_starts_and_restarts_when_its_page_is_saved(web_cast: WebCast) -> None:
    client, path = web_cast.client_for(web_cast.root), f"/admin/teams/user/{web_cast.bob.pk}/change/"
    saved(client, path, max_budget="5", budget_duration="7d")
    bob = User.objects.get(pk=web_cast.bob.pk)
    assert (bob.max_budget, bob.budget_duration) == (Decimal("5"), "7d")
    assert bob.budget_reset_at is not None
    assert timedelta(days=6) < bob.budget_reset_at - timezone.now() <= timedelta(days=7)
    saved(client, path, budget_duration="1d")  # a changed window starts again from now
    bob = User.objects.get(pk=web_cast.bob.pk)
    assert bob.budget_reset_at is not None and bob.budget_reset_at - timezone.now() <= timedelta(days=1)
    assert bob.check_password("correct-horse-battery") and bob.email == "bob@example.com"
    assert "every 1d, next reset" in client.get(path).content.decode()


def test_an_organizations_budget_window_starts_when_it_is_made_or_changed_in_the_admin(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.root)
    page = client.get("/admin/teams/organization/add/")
    response = client.post("/admin/teams/organization/add/", {
        **form_as_posted(page), "organization_id": "acme", "organization_alias": "Acme", "max_budget": "100",
        "budget_duration": "30d"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    acme = Organization.objects.get(organization_id="acme")
    assert acme.budget_reset_at is not None
    assert timedelta(days=29) < acme.budget_reset_at - timezone.now() <= timedelta(days=30)
    services.organization_update(organization=acme, fields={"budget_duration": ""})  # a lifetime budget now
    saved(client, f"/admin/teams/organization/{acme.pk}/change/", budget_duration="7d")
    acme.refresh_from_db()
    assert acme.budget_reset_at is not None and acme.budget_reset_at - timezone.now() <= timedelta(days=7)
    assert "every 7d, next reset" in client.get("/admin/teams/organization/").content.decode()


def test_the_other_tables_are_in_the_admin_read_only(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.root)
    for path in ("/admin/teams/deprecatedkey/", "/admin/teams/softbudgetalert/", "/admin/portal/auditlog/",
                 "/admin/teams/spendlog/"):
        assert client.get(path).status_code == 200, path
        assert client.get(f"{path}add/").status_code == 403, path
