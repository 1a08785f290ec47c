"""A call may not name an endpoint of its own (`api_base`, `base_url` in the body): 400, and no request leaves
the gateway (LiteLLM refuses the same fields). A key with the `allow_client_side_credentials` permission may (chat,
embeddings, completions, messages, responses), with its own api_key, and never to an internal address unless the install allows
internal hosts."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from apps.core import jsonutil
from tests.conftest import GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

MSG = [{"role": "user", "content": "hi"}]
CALLS = [
    pytest.param("/v1/chat/completions", {"messages": MSG}, id="chat_case"),
    pytest.param("/v1/embeddings", {"input": "hi"}, id="embeddings_case"),
    pytest.param("/v1/completions", {"prompt": "hi"}, id="completions_case"),
    pytest.param("/v1/messages", {"messages": MSG, "max_tokens": 5}, id="messages_case"),
]


@pytest.mark.parametrize("field", ["api_base", "base_url"])
@pytest.mark.parametrize(("path", "body"), CALLS)
def test_a_client_supplied_endpoint_is_refused_and_nothing_is_sent(upstream_model: Any, upstream: OpenAIUpstream,
                                                                    http: httpx.Client, path: str,
                                                                    body: dict[str, Any], field: str) -> None:
    upstream_model()
    with OpenAIUpstream() as elsewhere:
        response = http.post(path, json={"model": "upstream-gpt", **body, field: elsewhere.api_base})
        assert elsewhere.requests == []
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert f"{field} is not allowed in request body" in error["message"]
    assert upstream.requests == []
    if path != "/v1/messages":  # Anthropic's error shape there
        assert (error["param"], error["code"]) == (field, "client_endpoint_not_allowed")


def test_the_same_call_without_it_reaches_the_deployment(upstream_model: Any, upstream: OpenAIUpstream,
                                                         http: httpx.Client) -> None:
    upstream_model()
    assert http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG}).status_code == 200
    assert upstream.models_called() == ["gpt-4o-2024-08-06"]


def key_secret(*, allowed: bool) -> str:
    """A committed key, with LiteLLM's allow_client_side_credentials permission or without it."""
    from apps.teams import services

    return services.key_generate(fields={"permissions": {"allow_client_side_credentials": allowed}}).secret


def client_call(url: str, secret: str, path: str = "/v1/chat/completions", body: dict[str, Any] | None = None,
                **fields: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", headers={"Authorization": f"Bearer {secret}"}, timeout=30,
                      json={"model": "upstream-gpt", **(body or {"messages": MSG}), **fields})


ENDPOINT_SURFACES = [*CALLS, pytest.param("/v1/responses", {"input": "hi"}, id="responses_case")]


@pytest.fixture(scope="module")
def internal_gateway(django_db_setup: Any, django_db_blocker: Any,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """A gateway whose install lets permitted keys name hosts on its own network."""
    server = GatewayProcess(extra_env={"TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL": "true"},
                            log_dir=tmp_path_factory.mktemp("internal"))
    yield server
    server.stop()


def test_a_key_without_the_permission_is_refused(upstream_model: Any, upstream: OpenAIUpstream,
                                                 gateway: GatewayProcess) -> None:
    upstream_model()
    with OpenAIUpstream() as elsewhere:
        response = client_call(gateway.url, key_secret(allowed=False), api_base=elsewhere.api_base, api_key="sk-c")
        assert elsewhere.requests == []
    assert (response.status_code, response.json()["error"]["code"]) == (400, "client_endpoint_not_allowed")
    assert upstream.requests == []


@pytest.mark.parametrize("field", ["api_base", "base_url"])
@pytest.mark.parametrize(("path", "body"), ENDPOINT_SURFACES)
def test_a_permitted_key_may_not_reach_an_internal_address(upstream_model: Any, upstream: OpenAIUpstream,
                                                           gateway: GatewayProcess, path: str, body: dict[str, Any],
                                                           field: str) -> None:
    upstream_model()
    with OpenAIUpstream() as elsewhere:  # on 127.0.0.1: the gateway's own network
        response = client_call(gateway.url, key_secret(allowed=True), path, body, api_key="sk-c",
                               **{field: elsewhere.api_base})
        assert elsewhere.requests == []
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "internal address" in error["message"]
    if path != "/v1/messages":
        assert (error["param"], error["code"]) == (field, "client_endpoint_not_allowed")
    assert upstream.requests == []


@pytest.mark.parametrize(("path", "body"), [CALLS[0], CALLS[1], CALLS[3]])
def test_where_internal_hosts_are_allowed_a_permitted_key_reaches_its_endpoint_with_its_own_key(
        upstream_model: Any, upstream: OpenAIUpstream, internal_gateway: GatewayProcess, path: str,
        body: dict[str, Any]) -> None:
    upstream_model()
    secret = key_secret(allowed=True)
    with OpenAIUpstream() as elsewhere:
        response = client_call(internal_gateway.url, secret, path, body, api_base=elsewhere.api_base,
                               api_key="sk-client-own")
        without_key = client_call(internal_gateway.url, secret, path, body, api_base=elsewhere.api_base)
        denied = client_call(internal_gateway.url, key_secret(allowed=False), path, body,
                             api_base=elsewhere.api_base, api_key="sk-client-own")
        [seen] = elsewhere.requests
    assert response.status_code == 200, response.text
    assert seen.headers["authorization"] == "Bearer sk-client-own"
    assert not {"api_base", "base_url", "api_key"} & set(jsonutil.loads(seen.body))
    assert (without_key.status_code, denied.status_code) == (400, 400)
    assert "own api_key" in without_key.text and "not allowed in request body" in denied.text
    assert upstream.requests == []  # the deployment's own endpoint (and its key) saw nothing
