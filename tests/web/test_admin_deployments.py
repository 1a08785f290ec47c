"""Deployments in the admin: the test button (answer and latency), write-only provider keys, reload config."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from apps.core.secrets import decrypt
from apps.routing.models import Deployment
from apps.teams.models import User
from tests.upstreams.openai import OpenAIUpstream
from tests.web.conftest import PASSWORD


@pytest.fixture
def staff(transactional_db: None) -> Client:
    root = User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    client = Client()
    client.force_login(root)
    return client


def deployment_form(row: Deployment, **fields: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in ("model_name", "provider", "provider_model", "api_base",
                                                    "api_version", "api_key_env", "weight")}
    values.update({"litellm_params": "{}", "model_info": "{}", "enabled": "on", "timeout": "10", "rpm": "",
                   "tpm": "", "input_cost_per_token": "", "output_cost_per_token": "", "api_key": "",
                   "config_id": ""})
    values.update(fields)
    return values


def test_the_test_button_shows_the_answer_and_latency(staff: Client, upstream_model: Any,
                                                      upstream: OpenAIUpstream) -> None:
    row = upstream_model()
    page = staff.get(f"/admin/routing/deployment/{row.pk}/change/").content.decode()
    assert f'action="/admin/routing/deployment/{row.pk}/test/"' in page and "Test this deployment" in page
    response = staff.post(f"/admin/routing/deployment/{row.pk}/test/")
    result = response.context["result"]
    assert result.ok and result.answer == "This is a mock response to: Reply with one short greeting."
    assert result.latency_ms > 0 and f"{result.latency_ms} ms" in response.content.decode()
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == "Bearer sk-upstream-secret"
    assert sent.json()["max_tokens"] == 32


def test_the_test_button_shows_the_upstreams_error(staff: Client, upstream_model: Any) -> None:
    row = upstream_model(api_base="http://127.0.0.1:9/v1", timeout=2)
    response = staff.post(f"/admin/routing/deployment/{row.pk}/test/")
    assert not response.context["result"].ok
    assert 'id="test-error"' in response.content.decode()


def test_the_test_page_needs_a_post(staff: Client, upstream_model: Any) -> None:
    row = upstream_model()
    response = staff.get(f"/admin/routing/deployment/{row.pk}/test/")
    assert response.status_code == 302 and response["Location"] == f"/admin/routing/deployment/{row.pk}/change/"


def test_the_provider_key_is_never_rendered_back(staff: Client, upstream_model: Any) -> None:
    row = upstream_model()
    page = staff.get(f"/admin/routing/deployment/{row.pk}/change/").content.decode()
    assert "sk-upstream-secret" not in page and row.api_key_encrypted not in page
    staff.post(f"/admin/routing/deployment/{row.pk}/change/", deployment_form(row, api_key="sk-new-provider-key"))
    row.refresh_from_db()
    assert decrypt(row.api_key_encrypted) == "sk-new-provider-key"
    assert "sk-new-provider-key" not in staff.get(f"/admin/routing/deployment/{row.pk}/change/").content.decode()


def test_an_os_environ_name_is_stored_as_the_name_only(staff: Client, upstream_model: Any) -> None:
    row = upstream_model()
    staff.post(f"/admin/routing/deployment/{row.pk}/change/", deployment_form(row, api_key="os.environ/TEAM_KEY"))
    row.refresh_from_db()
    assert (row.api_key_env, row.api_key_encrypted) == ("TEAM_KEY", "")


def test_an_empty_key_field_keeps_the_stored_key(staff: Client, upstream_model: Any) -> None:
    row = upstream_model()
    staff.post(f"/admin/routing/deployment/{row.pk}/change/", deployment_form(row, weight="3"))
    row.refresh_from_db()
    assert (row.weight, decrypt(row.api_key_encrypted)) == (3.0, "sk-upstream-secret")


def test_a_bad_environment_name_is_refused(staff: Client, upstream_model: Any) -> None:
    row = upstream_model()
    response = staff.post(f"/admin/routing/deployment/{row.pk}/change/", deployment_form(row, api_key="os.environ/1 x"))
    assert "&#x27;1 x&#x27; is not an environment variable name." in response.content.decode()


def test_reload_config_loads_the_file(staff: Client, tmp_path: Path, settings: Any) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list:\n  - model_name: reloaded\n    litellm_params:\n      model: mock/reloaded\n")
    settings.TOLLGATE_CONFIG = str(config)
    page = staff.get("/admin/routing/deployment/").content.decode()
    assert 'action="/admin/routing/deployment/reload-config/"' in page
    response = staff.post("/admin/routing/deployment/reload-config/", follow=True)
    assert list(Deployment.objects.values_list("model_name", "source")) == [("reloaded", "config")]
    assert f"Loaded {config}: 1 created, 0 updated, 0 removed; 0 warning(s)." in response.content.decode()


def test_a_bad_config_reports_and_changes_nothing(staff: Client, tmp_path: Path, settings: Any) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list: [\n")
    settings.TOLLGATE_CONFIG = str(config)
    Deployment.objects.create(model_name="kept", provider="mock", provider_model="kept")
    response = staff.post("/admin/routing/deployment/reload-config/", follow=True)
    assert "Config not loaded:" in response.content.decode()
    assert list(Deployment.objects.values_list("model_name", flat=True)) == ["kept"]


def test_strict_mode_refuses_a_reload_with_warnings_and_shows_them(staff: Client, tmp_path: Path,
                                                                   settings: Any) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list:\n  - model_name: reloaded\n    litellm_params:\n      model: mock/reloaded\n"
                      "general_settings:\n  allowed_ips: [10.0.0.1]\n")
    settings.TOLLGATE_CONFIG, settings.TOLLGATE_CONFIG_STRICT = str(config), True
    Deployment.objects.create(model_name="kept", provider="mock", provider_model="kept")
    page = staff.post("/admin/routing/deployment/reload-config/", follow=True).content.decode()
    assert f"Config not loaded: {config}: 1 warning(s) and TOLLGATE_CONFIG_STRICT is set; nothing was loaded" in page
    assert ("Warning: line 6: LiteLLM&#x27;s general_settings.allowed_ips is not supported by Tollgate; ignored"
            in page)
    assert list(Deployment.objects.values_list("model_name", flat=True)) == ["kept"]
    settings.TOLLGATE_CONFIG_STRICT = False  # the same file loads, its warning shown, when strict mode is off
    page = staff.post("/admin/routing/deployment/reload-config/", follow=True).content.decode()
    assert f"Loaded {config}: 1 created, 0 updated, 0 removed; 1 warning(s)." in page
