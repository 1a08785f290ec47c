"""Provider and destination secrets other than `api_key`: sealed at rest, write-only in every admin form, masked in
the audit log, /model/info and logs; the gateway still calls with them."""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from apps.agents.models import Agent
from apps.core.secret_params import MASK, opened, reseal_migration, sealed, secret_header, secret_param
from apps.portal.models import AuditLog
from apps.routing.models import Deployment, RouterSettings, SearchTool
from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import target_for_row
from apps.teams.models import LogCallback
from tests.conftest import MASTER_KEY
from tests.web.conftest import WebCast

RUN = uuid.uuid4().hex[:8]
PROBES = {name: f"probe-{name}-{RUN}" for name in (
    "aws_secret", "aws_session", "azure_ad", "client_secret", "private_key", "authorization", "x_api_key",
    "hook_auth", "s3_secret", "langfuse_secret", "search_secret", "agent_key", "router_password")}
PARAMS = {"model": "bedrock/anthropic.claude-3", "aws_region_name": "us-east-1",
          "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": PROBES["aws_secret"],
          "aws_session_token": PROBES["aws_session"], "azure_ad_token": PROBES["azure_ad"],
          "client_secret": PROBES["client_secret"],
          "vertex_credentials": {"type": "service_account", "private_key": PROBES["private_key"]},
          "extra_headers": {"Authorization": f"Bearer {PROBES['authorization']}", "x-api-key": PROBES["x_api_key"],
                            "X-Team": "search"}}


def api(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    call = getattr(Client(), method)
    extra = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return call(path, HTTP_AUTHORIZATION=f"Bearer {MASTER_KEY}", **extra)


def leaked(text: str) -> list[str]:
    return [name for name, probe in PROBES.items() if probe in text]


def raw_rows() -> str:
    """Every settings column as the database holds it."""
    with connection.cursor() as cursor:
        texts = []
        for table, column in (("routing_deployment", "litellm_params"), ("routing_routersettings", "settings"),
                              ("routing_searchtool", "litellm_params"), ("teams_logcallback", "params"),
                              ("agents_agent", "litellm_params")):
            cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 - fixed names
            texts += [str(value) for (value,) in cursor.fetchall()]
    return "\n".join(texts)


@pytest.mark.parametrize(("name", "secret"), [
    pytest.param("aws_secret_access_key", True, id="aws_case"), pytest.param("aws_session_token", True, id="session_case"),
    pytest.param("azure_ad_token", True, id="azure_case"), pytest.param("client_secret", True, id="client_case"),
    pytest.param("vertex_credentials", True, id="vertex_case"), pytest.param("langfuse_secret", True, id="langfuse_case"),
    pytest.param("s3_aws_access_key_id", True, id="s3_case"), pytest.param("openai-api-key", True, id="dash_case"),
    pytest.param("input_cost_per_token", False, id="price_case"), pytest.param("max_tokens", False, id="tokens_case"),
    pytest.param("aws_region_name", False, id="region_case"), pytest.param("api_base", False, id="base_case"),
])
def test_one_rule_names_the_secret_params(name: str, secret: bool) -> None:
    assert secret_param(name) is secret


@pytest.mark.parametrize(("name", "secret"), [
    ("Authorization", True), ("x-api-key", True), ("api-key", True), ("Ocp-Apim-Subscription-Key", True),
    ("X-Amz-Security-Token", True), ("Cookie", True), ("X-Team", False), ("anthropic-version", False),
    ("keep-alive", False),
])
def test_one_rule_names_the_secret_headers(name: str, secret: bool) -> None:
    assert secret_header(name) is secret


def test_sealing_hides_each_secret_and_opens_back_and_leaves_references_and_numbers() -> None:
    given = {**PARAMS, "aws_session_token": "os.environ/AWS_SESSION_TOKEN", "input_cost_per_token": 0.5}
    stored = sealed(given)
    assert leaked(json.dumps(stored)) == []
    assert stored["aws_session_token"] == "os.environ/AWS_SESSION_TOKEN" and stored["input_cost_per_token"] == 0.5
    assert stored["aws_region_name"] == "us-east-1" and stored["extra_headers"]["X-Team"] == "search"
    assert sealed(stored) == stored  # sealing twice changes nothing
    assert opened(stored) == given


def test_a_deployments_secrets_are_sealed_at_rest_and_the_call_uses_them(web_cast: WebCast,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_SESSION", PROBES["aws_session"])
    answer = api("post", "/model/new", {"model_name": "sealed", "litellm_params": {
        **PARAMS, "aws_session_token": "os.environ/PROBE_SESSION"}})
    assert answer.status_code == 200, answer.content
    assert leaked(raw_rows()) == [] and "os.environ/PROBE_SESSION" in raw_rows() and "us-east-1" in raw_rows()
    target = target_for_row(Deployment.objects.get(model_name="sealed"), drop_params=False, policy=RouterPolicy())
    assert (target.extra["aws_secret_access_key"], target.extra["aws_session_token"]) == (
        PROBES["aws_secret"], PROBES["aws_session"])  # the reference is read from the environment when used
    assert target.headers["Authorization"] == f"Bearer {PROBES['authorization']}"
    assert target.extra["vertex_credentials"]["private_key"] == PROBES["private_key"]


def test_stored_plain_rows_are_sealed_by_the_migration(web_cast: WebCast) -> None:
    row = Deployment.objects.create(model_name="old", provider="bedrock", provider_model="x")
    with connection.cursor() as cursor:  # as a row written before sealing holds it
        cursor.execute("UPDATE routing_deployment SET litellm_params = %s WHERE id = %s",
                       [json.dumps({"aws_secret_access_key": PROBES["aws_secret"]}), row.pk])
    assert leaked(raw_rows()) == ["aws_secret"]
    from django.apps import apps
    reseal_migration(("routing", "Deployment", "litellm_params")).code(apps, None)
    assert leaked(raw_rows()) == []
    assert Deployment.objects.get(pk=row.pk).litellm_params == {"aws_secret_access_key": PROBES["aws_secret"]}


def admin_form(client: Client, url: str) -> dict[str, Any]:
    """The change form's fields as the browser would send them back untouched."""
    from html.parser import HTMLParser

    fields: dict[str, Any] = {}

    class Form(HTMLParser):
        textarea: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox", "button"):
                fields[a["name"]] = a.get("value") or ""
            elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
                fields[a["name"]] = "on"
            elif tag == "textarea":
                self.textarea = a["name"]
                fields[a["name"]] = ""
            elif tag == "option" and "selected" in a and self.select:
                fields[self.select] = a.get("value") or ""
            if tag == "select":
                self.select = a.get("name")

        select: str | None = None

        def handle_data(self, data: str) -> None:
            if self.textarea:
                fields[self.textarea] += data

        def handle_endtag(self, tag: str) -> None:
            if tag == "textarea":
                self.textarea = None

    Form().feed(client.get(url).content.decode())
    fields.pop("csrfmiddlewaretoken", None)
    return fields


@pytest.fixture
def everything_with_secrets(web_cast: WebCast) -> Client:
    """A row with secrets in each settings column, made in the admin (so audited), and root's admin client."""
    client = web_cast.client_for(web_cast.root)
    assert api("post", "/model/new", {"model_name": "sealed", "litellm_params": PARAMS}).status_code == 200
    made = [
        client.post("/admin/teams/logcallback/add/", {
            "name": "hook", "kind": "generic_api", "on_success": "on", "enabled": "on", "source": "admin",
            "params": json.dumps({"endpoint": "http://127.0.0.1:9/hook",
                                  "headers": {"Authorization": f"Bearer {PROBES['hook_auth']}"},
                                  "s3_aws_secret_access_key": PROBES["s3_secret"],
                                  "langfuse_secret": PROBES["langfuse_secret"]})}),
        client.post("/admin/routing/searchtool/add/", {
            "search_tool_name": "web", "search_provider": "tavily", "api_base": "", "api_key_env": "",
            "litellm_params": json.dumps({"client_secret": PROBES["search_secret"]}), "search_tool_info": "{}",
            "enabled": "on", "api_key": ""}),
        client.post("/admin/agents/agent/add/", {
            "agent_id": "helper", "agent_name": "helper", "kind": "hosted", "description": "", "version": "1.0.0",
            "skills": "[]", "agent_card_params": "{}", "protocol_version": "", "allowed_teams": "[]",
            "allowed_keys": "[]", "enabled": "on", "rpm_limit": "", "remote_card": "null",
            "litellm_params": json.dumps({"model": "gpt-4o-mini", "api_key": PROBES["agent_key"]})}),
        client.post("/admin/routing/routersettings/add/", {
            "routing_strategy": "simple-shuffle", "num_retries": "2", "request_timeout": "",
            "settings": json.dumps({"redis_password": PROBES["router_password"]})}),
    ]
    assert [answer.status_code for answer in made] == [302] * 4, [a.content.decode()[-3000:] for a in made]
    return client


CHANGE_PAGES = {
    "deployment": lambda: f"/admin/routing/deployment/{Deployment.objects.get(model_name='sealed').pk}/change/",
    "logcallback": lambda: f"/admin/teams/logcallback/{LogCallback.objects.get(name='hook').pk}/change/",
    "searchtool": lambda: f"/admin/routing/searchtool/{SearchTool.objects.get(search_tool_name='web').pk}/change/",
    "agent": lambda: "/admin/agents/agent/helper/change/",
    "routersettings": lambda: f"/admin/routing/routersettings/{RouterSettings.objects.get().pk}/change/",
}


def test_a_probe_secret_appears_nowhere(everything_with_secrets: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = everything_with_secrets
    pages = {name: client.get(url()).content.decode() for name, url in CHANGE_PAGES.items()}
    assert {name: leaked(html) for name, html in pages.items()} == {name: [] for name in pages}
    assert all(MASK in html for html in pages.values())
    answers = [api("get", path).content.decode() for path in ("/model/info", "/v2/model/info", "/metrics")]
    assert [leaked(text) for text in answers] == [[], [], []]
    audit = json.dumps(list(AuditLog.objects.values()), default=str)
    assert AuditLog.objects.filter(object_type__in=["routing.deployment", "teams.logcallback", "routing.searchtool",
                                                    "agents.agent", "routing.routersettings"]).count() >= 5
    assert leaked(audit) == [] and leaked(raw_rows()) == [] and leaked(caplog.text) == []


@pytest.mark.parametrize("page", list(CHANGE_PAGES))
def test_saving_a_form_as_shown_keeps_every_stored_secret(everything_with_secrets: Client, page: str) -> None:
    client = everything_with_secrets
    url = CHANGE_PAGES[page]()
    model = {"deployment": Deployment, "logcallback": LogCallback, "searchtool": SearchTool, "agent": Agent,
             "routersettings": RouterSettings}[page]
    column = {"logcallback": "params", "routersettings": "settings"}.get(page, "litellm_params")
    before = getattr(model.objects.get(), column) if page != "deployment" else Deployment.objects.get(
        model_name="sealed").litellm_params
    answer = client.post(url, admin_form(client, url))
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    after = getattr(model.objects.get(), column) if page != "deployment" else Deployment.objects.get(
        model_name="sealed").litellm_params
    assert after == before


def test_a_secret_typed_in_the_admin_replaces_the_stored_one_and_the_audit_says_changed(
        everything_with_secrets: Client) -> None:
    client = everything_with_secrets
    url = CHANGE_PAGES["logcallback"]()
    form = admin_form(client, url)
    params = json.loads(form["params"])
    assert params["headers"] == {"Authorization": MASK} and params["endpoint"] == "http://127.0.0.1:9/hook"
    params["headers"]["Authorization"] = "Bearer new-hook-secret"
    del params["langfuse_secret"]
    assert client.post(url, {**form, "params": json.dumps(params)}).status_code == 302
    stored = LogCallback.objects.get(name="hook").params
    assert stored["headers"] == {"Authorization": "Bearer new-hook-secret"} and "langfuse_secret" not in stored
    assert stored["s3_aws_secret_access_key"] == PROBES["s3_secret"]
    entry = AuditLog.objects.filter(object_type="teams.logcallback", action="updated").get()
    assert entry.after["params"]["headers"] == {"Authorization": "(changed)"}
    assert entry.before["params"]["headers"] == {"Authorization": MASK}
    assert "new-hook-secret" not in json.dumps(entry.after) + json.dumps(entry.before)
