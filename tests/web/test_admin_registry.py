"""Every model is in the admin, but for a short list of Django's own tables and the one edited inline."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.apps import apps
from django.contrib import admin

from apps.agents.models import AgentPushConfig, AgentPushDelivery, AgentTask
from apps.routing.responses_model import StoredResponse
from apps.teams.models import SpendLog
from apps.teams.rollup import spend_rollup
from tests.web.conftest import WebCast

NOT_IN_THE_ADMIN = {
    "admin.LogEntry": "Django's own change history; the audit log (portal.AuditLog) records every change",
    "auth.Permission": "granted on the user's and the group's pages",
    "contenttypes.ContentType": "Django's table of model names",
    "sessions.Session": "login sessions: their data is the session itself",
    "teams.TeamMembership": "edited inline on the team's page (MembershipInline)",
}
READ_ONLY = ["teams.SpendLog", "teams.SpendRollup", "teams.SpendTagRollup", "teams.SpendTagGrain",
             "teams.SpendRollupMark", "routing.StoredResponse", "agents.AgentPushConfig", "agents.AgentPushDelivery"]


def test_every_model_is_registered_but_the_reasoned_few() -> None:
    missing = {model._meta.label for model in apps.get_models() if model not in admin.site._registry}
    assert missing == set(NOT_IN_THE_ADMIN)


def rows_in_the_read_only_tables() -> None:
    at = datetime(2026, 3, 5, 9, tzinfo=UTC)
    SpendLog.objects.create(request_id="r1", key_hash="x", team_id="search", model_alias="m", provider="openai",
                            cost=Decimal("0.5"), start_time=at, end_time=at, tags=["app-1"])
    spend_rollup()
    StoredResponse.objects.create(response_id="resp_1", model_group="m", deployment_id="d", provider="openai",
                                  status="completed", body={})
    task = AgentTask.objects.create(task_id="t1", agent_id="a", context_id="c", owner="o")
    AgentPushConfig.objects.create(task=task, config_id="c1", config={"url": "https://hooks.example/a",
                                                                      "token": "PUSHTOKEN"})
    AgentPushDelivery.objects.create(task_id="t1", config_id="c1", url="https://hooks.example/a",
                                     headers={"X-A2A-Notification-Token": "PUSHTOKEN"})


def test_every_registered_list_opens_and_the_gateways_own_rows_are_read_only(web_cast: WebCast) -> None:
    rows_in_the_read_only_tables()
    client = web_cast.client_for(web_cast.root)
    for model in admin.site._registry:
        meta = model._meta
        path = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert client.get(path).status_code == 200, path
        if meta.label in READ_ONLY:
            assert client.get(f"{path}add/").status_code == 403, path
            assert not admin.site._registry[model].has_change_permission(client.get(path).wsgi_request), path
    for path in ("/admin/agents/agentpushconfig/", "/admin/agents/agentpushdelivery/"):
        page = client.get(path).content.decode()
        assert "https://hooks.example/a" in page and "PUSHTOKEN" not in page, path
    delivery = AgentPushDelivery.objects.get()
    page = client.get(f"/admin/agents/agentpushdelivery/{delivery.pk}/change/").content.decode()
    assert "X-A2A-Notification-Token" in page and "PUSHTOKEN" not in page
