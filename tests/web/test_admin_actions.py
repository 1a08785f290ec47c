"""Admin actions not on the key list: probe deployments now, reset the spend of any budgeted row."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.routing.models import DeploymentHealth
from apps.teams import services
from apps.teams.models import EndUser, User
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply
from tests.web.conftest import PASSWORD, WebCast


def test_probe_now_stores_each_selected_deployments_health(transactional_db: None, upstream_model: Any,
                                                          upstream: OpenAIUpstream) -> None:
    root = User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    staff = Client()
    staff.force_login(root)
    good, bad, left = upstream_model(), upstream_model("broken", provider_model="gpt-broken"), upstream_model("left")
    upstream.always_for("gpt-broken", Reply(500, {"Content-Type": "application/json"},
                                            b'{"error": {"message": "upstream down", "type": "server_error"}}'))
    response = staff.post("/admin/routing/deployment/", {"action": "probe_now",
                                                         "_selected_action": [good.pk, bad.pk]}, follow=True)
    assert "Probed 2 deployment(s): 1 unhealthy." in response.content.decode()
    health = {row.deployment_id: row for row in DeploymentHealth.objects.all()}
    assert set(health) == {good.pk, bad.pk}  # only the selected ones
    assert (health[good.pk].healthy, health[bad.pk].healthy, health[bad.pk].status_code) == (True, False, 500)
    assert left.pk not in health


@pytest.mark.parametrize("model_case", ["team_case", "user_case", "organization_case", "end_user_case"])
def test_reset_spend_zeroes_each_selected_row(web_cast: WebCast, model_case: str) -> None:
    org = services.organization_new(fields={"organization_alias": "acme"}, organization_id="acme")
    rows: dict[str, tuple[Any, Any, str]] = {
        "team_case": (web_cast.search, web_cast.ads, "team"), "user_case": (web_cast.bob, web_cast.alice, "user"),
        "organization_case": (org, services.organization_new(fields={}, organization_id="other"), "organization"),
        "end_user_case": (EndUser.objects.create(user_id="c-1"), EndUser.objects.create(user_id="c-2"), "enduser")}
    row, other, admin_name = rows[model_case]
    for each in (row, other):
        type(each).objects.filter(pk=each.pk).update(spend=Decimal("4.5"))
    response = web_cast.client_for(web_cast.root).post(f"/admin/teams/{admin_name}/", {
        "action": "reset_spend", "_selected_action": [row.pk]}, follow=True)
    assert "Reset the spend of 1 row(s)." in response.content.decode()
    assert (type(row).objects.get(pk=row.pk).spend, type(row).objects.get(pk=other.pk).spend) == (0, Decimal("4.5"))
