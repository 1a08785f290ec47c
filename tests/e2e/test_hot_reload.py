"""A deployment edited in the admin is used by the running gateway's next call: no restart, no redeploy."""
from __future__ import annotations

import time

import httpx
import pytest
from django.test import Client

from apps.routing.models import Deployment
from tests.upstreams.openai import OpenAIUpstream

MSG = [{"role": "user", "content": "hello"}]
RELOAD_DEADLINE = 5.0  # seconds within which every replica must route by the edit


@pytest.fixture
def root_client(transactional_db: None) -> Client:
    """`root`, the proxy admin, logged into the Django admin."""
    from apps.teams.models import User

    root = User.objects.create(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    return client


def change_form(deployment: Deployment, **changes: object) -> dict[str, object]:
    """Every field the Deployment change form posts, with `changes` applied."""
    fields = {"model_name": deployment.model_name, "provider": deployment.provider,
              "provider_model": deployment.provider_model, "api_base": deployment.api_base, "api_version": "",
              "api_key_env": "", "api_key": "", "timeout": deployment.timeout, "rpm": "", "tpm": "",
              "weight": deployment.weight, "input_cost_per_token": "", "output_cost_per_token": "",
              "litellm_params": "{}", "model_info": "{}", "enabled": "on"}
    fields.update(changes)
    return {k: ("" if v is None else v) for k, v in fields.items()}


def routed_models(http: httpx.Client, upstream: OpenAIUpstream, want: str) -> float:
    """Call until the upstream sees `want`; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < RELOAD_DEADLINE:
        assert http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG}).status_code == 200
        if upstream.models_called()[-1] == want:
            return time.monotonic() - started
    raise AssertionError(f"the gateway still routes to {upstream.models_called()[-1]!r} after {RELOAD_DEADLINE}s")


def test_an_admin_edit_reaches_the_next_call(upstream_model, upstream: OpenAIUpstream, http: httpx.Client,
                                             root_client: Client) -> None:
    deployment = upstream_model(provider_model="before-edit")
    routed_models(http, upstream, "before-edit")
    url = f"/admin/routing/deployment/{deployment.pk}/change/"
    assert root_client.get(url).status_code == 200
    response = root_client.post(url, change_form(deployment, provider_model="after-edit"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Deployment.objects.get(pk=deployment.pk).provider_model == "after-edit"
    routed_models(http, upstream, "after-edit")


def test_router_settings_edited_in_the_admin_take_effect(upstream_model, upstream: OpenAIUpstream,
                                                         http: httpx.Client, root_client: Client) -> None:
    upstream_model(provider_model="only")
    response = root_client.post("/admin/routing/routersettings/1/change/", {
        "routing_strategy": "simple-shuffle", "num_retries": 0, "request_timeout": "",
        "settings": '{"model_group_alias": {"edited-alias": "upstream-gpt"}}'})
    assert response.status_code == 302, response.content.decode()[:2000]
    started = time.monotonic()
    while http.post("/v1/chat/completions", json={"model": "edited-alias", "messages": MSG}).status_code != 200:
        assert time.monotonic() - started < RELOAD_DEADLINE, "the alias never reached the gateway"


def test_the_admin_refuses_router_settings_the_router_cannot_use(transactional_db: None, root_client: Client) -> None:
    response = root_client.post("/admin/routing/routersettings/add/", {
        "routing_strategy": "fastest-please", "num_retries": 0, "request_timeout": "",
        "settings": '{"allowed_fails": "many"}'})
    assert response.status_code == 200
    page = response.content.decode()
    assert "routing_strategy &#x27;fastest-please&#x27; is not one of" in page
    assert "allowed_fails must be a number, got &#x27;many&#x27;" in page
