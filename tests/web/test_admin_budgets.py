"""Budgets edited where the thing they cap is: an end user's budget row from the end user's page."""
from __future__ import annotations

from decimal import Decimal

from apps.teams.models import EndUser
from tests.web.conftest import WebCast

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


def test_the_other_tables_are_in_the_admin_read_only(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.root)
    for path in ("/admin/teams/deprecatedkey/", "/admin/teams/softbudgetalert/", "/admin/portal/auditlog/",
                 "/admin/teams/spendlog/"):
        assert client.get(path).status_code == 200, path
        assert client.get(f"{path}add/").status_code == 403, path
