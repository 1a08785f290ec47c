"""The audit log: who changed what, before and after, through the admin, the portal or the management API."""
from __future__ import annotations

import json
from typing import Any

from django.test import Client

from apps.portal.models import AuditLog
from apps.routing.models import Deployment
from apps.teams import services
from apps.teams.auth import hash_key
from tests.conftest import MASTER_KEY
from tests.web.conftest import WebCast


def api(path: str, body: dict[str, Any], key: str = MASTER_KEY) -> Any:
    return Client().post(path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def rows(**match: Any) -> list[tuple[Any, ...]]:
    return list(AuditLog.objects.filter(**match).order_by("id").values_list(
        "actor", "via", "action", "object_type", "object_id", "before", "after"))


def test_nothing_outside_a_request_is_audited(web_cast: WebCast) -> None:
    assert AuditLog.objects.count() == 0  # the cast was made by services called directly


def test_a_key_made_through_the_api_is_logged_by_hash_never_by_secret(web_cast: WebCast) -> None:
    answer = api("/key/generate", {"team_id": "search", "key_alias": "api-made", "max_budget": 2}).json()
    entry = AuditLog.objects.get(object_type="teams.virtualkey")
    assert (entry.actor, entry.via, entry.action) == ("master key", "api", "created")
    assert entry.object_id == f"api-made {answer['token']}"
    assert entry.after["token_hash"] == hash_key(answer["key"]) and entry.after["max_budget"] == "2"
    every_row = json.dumps(list(AuditLog.objects.values()), default=str)
    assert answer["key"] not in every_row


def test_an_update_records_only_what_changed_before_and_after(web_cast: WebCast) -> None:
    api("/team/update", {"team_id": "search", "max_budget": 60})
    assert rows(object_type="teams.team") == [
        ("master key", "api", "updated", "teams.team", "search", {"max_budget": "50"}, {"max_budget": "60"})]


def test_a_users_key_is_named_by_its_hash_and_user(web_cast: WebCast) -> None:
    issued = services.key_generate(fields={"user": web_cast.alice, "team": web_cast.search})
    api("/key/block", {"key": web_cast.bob_key.token_hash}, key=issued.secret)
    assert rows(object_type="teams.virtualkey") == [
        (f"key:{issued.key.token_hash} (user:alice)", "api", "updated", "teams.virtualkey",
         f"bob-search {web_cast.bob_key.token_hash}", {"blocked": False}, {"blocked": True})]


def test_a_refused_api_change_logs_nothing(web_cast: WebCast) -> None:
    issued = services.key_generate(fields={"user": web_cast.bob, "team": web_cast.search})
    assert api("/team/update", {"team_id": "search", "max_budget": 1}, key=issued.secret).status_code == 403
    assert AuditLog.objects.count() == 0


def test_admin_changes_are_logged_with_the_staff_user(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.root)
    client.post("/admin/teams/virtualkey/", {"action": "reset_spend", "_selected_action": [web_cast.bob_key.pk]})
    assert rows() == [("user:root", "admin", "updated", "teams.virtualkey",
                       f"bob-search {web_cast.bob_key.token_hash}", {"spend": "1.5"}, {"spend": "0"})]


def test_portal_key_revocation_is_logged_as_a_delete(web_cast: WebCast) -> None:
    web_cast.client_for(web_cast.bob).post(f"/portal/keys/{web_cast.bob_key.pk}/revoke/")
    (entry,) = AuditLog.objects.all()
    assert (entry.actor, entry.via, entry.action, entry.object_id) == (
        "user:bob", "portal", "deleted", f"bob-search {web_cast.bob_key.token_hash}")
    assert entry.before["spend"] == "1.5" and entry.after == {}


def test_a_provider_key_change_is_logged_without_the_key(web_cast: WebCast) -> None:
    row = Deployment.objects.get(model_name="ads-model")
    client = web_cast.client_for(web_cast.root)
    form = {"model_name": "ads-model", "provider": "mock", "provider_model": "ads-model", "api_base": "",
            "api_version": "", "api_key_env": "", "weight": "1", "litellm_params": "{}", "model_info": "{}",
            "enabled": "on", "timeout": "", "rpm": "", "tpm": "", "input_cost_per_token": "0.000001",
            "output_cost_per_token": "0.000002", "api_key": "sk-provider-very-secret", "config_id": ""}
    client.post(f"/admin/routing/deployment/{row.pk}/change/", form)
    assert rows(object_type="routing.deployment") == [
        ("user:root", "admin", "updated", "routing.deployment", str(row.pk), {"api_key_encrypted": ""},
         {"api_key_encrypted": "(changed)"})]
    assert "sk-provider-very-secret" not in json.dumps(list(AuditLog.objects.values()), default=str)


def test_a_password_change_is_logged_without_the_hash(web_cast: WebCast) -> None:
    client = web_cast.client_for(web_cast.bob)
    client.post("/accounts/password_change/", {"old_password": "correct-horse-battery",
                                               "new_password1": "another-long-password",
                                               "new_password2": "another-long-password"})
    assert rows(object_type="teams.user") == [
        ("user:bob", "portal", "updated", "teams.user", "bob", {"password": "(set)"}, {"password": "(changed)"})]


def test_the_audit_log_is_filterable_in_the_admin(web_cast: WebCast) -> None:
    api("/team/update", {"team_id": "search", "max_budget": 60})
    web_cast.client_for(web_cast.bob).post(f"/portal/keys/{web_cast.bob_key.pk}/revoke/")
    client = web_cast.client_for(web_cast.root)
    via_api = client.get("/admin/portal/auditlog/?via__exact=api").content.decode()
    assert "master key" in via_api and "user:bob" not in via_api
    by_bob = client.get("/admin/portal/auditlog/?q=user%3Abob").content.decode()
    assert "user:bob" in by_bob and "master key" not in by_bob
    assert client.get(f"/admin/portal/auditlog/{AuditLog.objects.first().pk}/change/").status_code == 200  # type: ignore[union-attr]


def test_a_group_and_its_permissions_changed_in_the_admin_are_logged(web_cast: WebCast) -> None:
    from django.contrib.auth.models import Group, Permission

    client = web_cast.client_for(web_cast.root)
    perm = Permission.objects.get(codename="view_team")
    assert client.post("/admin/auth/group/add/", {"name": "viewers", "permissions": [perm.pk]}).status_code == 302
    group = Group.objects.get(name="viewers")
    assert rows(object_type="auth.group") == [
        ("user:root", "admin", "created", "auth.group", str(group.pk), {}, {"id": group.pk, "name": "viewers"}),
        ("user:root", "admin", "updated", "auth.group", str(group.pk), {"permissions": []},
         {"permissions": [str(perm)]})]


def test_blocking_customers_in_bulk_logs_each_change(web_cast: WebCast) -> None:
    api("/customer/new", {"user_id": "known-customer"})
    AuditLog.objects.all().delete()
    assert api("/customer/block", {"user_ids": ["known-customer", "new-customer"]}).status_code == 200
    assert rows(object_type="teams.enduser", action="updated") == [
        ("master key", "api", "updated", "teams.enduser", "known-customer", {"blocked": False}, {"blocked": True})]
    (made,) = rows(object_type="teams.enduser", action="created")
    assert made[4] == "new-customer" and made[6]["blocked"] is True
    assert api("/customer/unblock", {"user_ids": ["known-customer"]}).status_code == 200
    assert rows(object_type="teams.enduser", action="updated")[-1][5:] == ({"blocked": True}, {"blocked": False})
