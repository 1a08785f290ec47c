"""The config shaped like LiteLLM's sample (tests/routing/fixtures/litellm_sample_proxy_config.yaml) loaded as written
and served: its deployments pointed at the tests' wire twins (their address and test credentials only), one call per
kind of deployment, each answer and its spend row checked."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from apps.core.secrets import encrypt
from apps.providers.pricing import price_for
from apps.routing.models import Deployment, RouterSettings
from tests.routing.test_litellm_sample_config import SAMPLE
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams import anthropic, gemini, jina_ai, replicate, sagemaker, text_completion_openai, voyage
from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

MSG = [{"role": "user", "content": PROMPT}]
TWINS = {"llama-on-sagemaker": sagemaker.gateway_upstream, "qwen-on-sagemaker": sagemaker.gateway_chat_upstream,
         "anthropic/*": anthropic.gateway_upstream, "instruct-model": text_completion_openai.gateway_upstream,
         "gemini-flash": gemini.gateway_upstream, "llama-on-replicate": replicate.gateway_upstream,
         "voyage-embed": voyage.gateway_upstream, "jina-rerank": jina_ai.gateway_upstream}
OPENAI_GROUPS = ("gpt-4o-mini-group", "long-timeout-model", "embedding-ada", "placeholder-openai-endpoint", "*")
SERVER_ERROR = Reply.json(500, {"error": {"message": "upstream broke", "type": "server_error"}})


def point_at(name: str, *, api_base: str, api_key: str, litellm_params: dict[str, Any] | None = None) -> None:
    """Aim the group's deployments at a twin: its address and test credentials; everything else stays as loaded."""
    for row in Deployment.objects.filter(model_name=name):
        row.api_base, row.api_key_encrypted = api_base, encrypt(api_key)
        row.litellm_params = {**row.litellm_params, **(litellm_params or {})}
        row.save()


@pytest.fixture
def twins(transactional_db: None, upstream: OpenAIUpstream) -> Iterator[dict[str, GatewayUpstream]]:
    call_command("load_config", str(SAMPLE))
    with ExitStack() as stack:
        started = {name: stack.enter_context(factory()) for name, factory in TWINS.items()}
        for name, twin in started.items():
            point_at(name, api_base=twin.api_base, api_key=twin.api_key, litellm_params=dict(twin.litellm_params))
        for name in OPENAI_GROUPS:
            point_at(name, api_base=upstream.api_base, api_key="sk-upstream-secret")
        router = RouterSettings.objects.get()
        router.settings = {**router.settings, "retry_backoff_base": 0.01, "retry_backoff_max": 0.05}  # a quick test
        router.save()
        yield started


def spend_row(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    [row] = wait_for_spend_rows(1, request_id=response.headers["x-request-id"])
    return row


def listed_cost(provider: str, model: str, row: Any) -> Decimal:
    price = price_for(provider, model)
    return price.input_cost_per_token * row.prompt_tokens + price.output_cost_per_token * row.completion_tokens


def test_the_settings_load_as_written(twins: dict[str, GatewayUpstream]) -> None:
    router = RouterSettings.objects.get()
    assert (router.num_retries, router.request_timeout, router.settings["drop_params"]) == (5, 600, True)


def test_sagemaker_is_billed_its_duration_at_its_per_second_price(twins: dict[str, GatewayUpstream],
                                                                  http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"model": "llama-on-sagemaker", "messages": MSG})
    assert response.json()["choices"][0]["message"]["content"] == twins["llama-on-sagemaker"].text
    row = spend_row(response)
    rate = Decimal("0.00042")
    assert (row.provider, row.model_alias) == ("sagemaker", "llama-on-sagemaker")
    assert rate * row.latency_ms / 1000 <= row.cost <= rate * (row.latency_ms + 1) / 1000
    assert [seen.path for seen in twins["llama-on-sagemaker"].server.requests] == [
        "/endpoints/jumpstart-dft-llama-2-70b-chat/invocations"]


@pytest.mark.parametrize(("group", "provider"), [
    pytest.param("qwen-on-sagemaker", "sagemaker_chat", id="sagemaker_chat_case"),
    pytest.param("instruct-model", "text-completion-openai", id="text_completion_openai_case"),
    pytest.param("gemini-flash", "gemini", id="gemini_case"),
    pytest.param("llama-on-replicate", "replicate", id="replicate_case"),
])
def test_each_chat_deployment_answers_and_is_billed(twins: dict[str, GatewayUpstream], http: httpx.Client,
                                                    group: str, provider: str) -> None:
    response = http.post("/v1/chat/completions", json={"model": group, "messages": MSG})
    assert response.json()["choices"][0]["message"]["content"] == twins[group].text
    row = spend_row(response)
    assert (row.provider, row.model_alias, row.status, row.prompt_tokens > 0) == (provider, group, "success", True)
    model = Deployment.objects.get(model_name=group).provider_model
    assert row.cost == (listed_cost(provider, model, row) if price_for(provider, model) else Decimal(0))
    assert twins[group].server.requests


def test_the_openai_group_and_its_retries_from_litellm_settings(twins: dict[str, GatewayUpstream],
                                                                upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream.reply_with(SERVER_ERROR, SERVER_ERROR)  # the group's num_retries: 5 (litellm_settings) carries it
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini-group", "messages": MSG})
    assert response.status_code == 200
    rows = wait_for_spend_rows(3, request_id=response.headers["x-request-id"])
    assert [row.status for row in rows] == ["failure", "failure", "success"]
    assert set(upstream.models_called()) <= {"gpt-4o-mini", "gpt-4.1-mini"}
    assert rows[-1].cost == listed_cost("openai", upstream.models_called()[-1], rows[-1])


@pytest.mark.parametrize(("asked", "provider", "sent"), [
    pytest.param("gpt-4o", "openai", "gpt-4o", id="openai_wildcard_case"),
    pytest.param(f"anthropic/{anthropic.GATEWAY_MODEL}", "anthropic", anthropic.GATEWAY_MODEL,
                 id="anthropic_wildcard_case"),
])
def test_wildcard_groups_serve_the_model_asked_for(twins: dict[str, GatewayUpstream], upstream: OpenAIUpstream,
                                                   http: httpx.Client, asked: str, provider: str, sent: str) -> None:
    response = http.post("/v1/chat/completions", json={"model": asked, "messages": MSG})
    row = spend_row(response)
    assert (row.provider, row.model_alias) == (provider, asked)
    assert row.cost == listed_cost(provider, sent, row) > 0
    if provider == "openai":
        assert upstream.models_called() == [sent]
    else:
        assert [seen.json()["model"] for seen in twins["anthropic/*"].server.requests] == [sent]


def test_embeddings_of_openai_and_voyage(twins: dict[str, GatewayUpstream], upstream: OpenAIUpstream,
                                         http: httpx.Client) -> None:
    ada = http.post("/v1/embeddings", json={"model": "embedding-ada", "input": PROMPT})
    row = spend_row(ada)
    assert (len(ada.json()["data"]), row.cost) == (1, listed_cost("openai", "text-embedding-ada-002", row))
    voyaged = http.post("/v1/embeddings", json={"model": "voyage-embed", "input": [PROMPT, "again"]})
    row = spend_row(voyaged)
    assert [item["index"] for item in voyaged.json()["data"]] == [0, 1]
    assert (row.provider, row.cost) == ("voyage", listed_cost("voyage", "voyage-3.5", row))
    assert [seen.json()["model"] for seen in twins["voyage-embed"].server.requests] == ["voyage-3.5"]


def test_jina_reranks(twins: dict[str, GatewayUpstream], http: httpx.Client) -> None:
    documents = ["Paris is the capital of France.", "Berlin is in Germany."]
    response = http.post("/v1/rerank", json={"model": "jina-rerank", "query": "capital of france",
                                             "documents": documents})
    assert [item["index"] for item in response.json()["results"]] == [0, 1]
    row = spend_row(response)
    assert (row.provider, row.call_type) == ("jina_ai", "rerank")
    [seen] = twins["jina-rerank"].server.requests
    assert seen.json()["model"] == "jina-reranker-v2-base-multilingual"
