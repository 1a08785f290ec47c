"""`openai.AzureOpenAI` pointed at the gateway: Azure's deployment paths serve the model group the path names."""
from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from django.test import AsyncClient

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.querycount import count_queries
from tests.upstreams.openai import OpenAIUpstream

MSG = [{"role": "user", "content": "hi azure"}]


@pytest.fixture
def azure(gateway: GatewayProcess) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=gateway.url, api_key=MASTER_KEY, api_version="2024-02-01",
                              max_retries=0, timeout=30)


@pytest.fixture
def embedding_model(upstream_model: Any, upstream: OpenAIUpstream) -> None:
    upstream_model()
    upstream_model("upstream-embed", provider_model="text-embedding-3-small", model_info={"mode": "embedding"})


@pytest.mark.usefixtures("embedding_model")
def test_azure_client_chat_reaches_the_group_named_in_the_path(azure: openai.AzureOpenAI,
                                                               upstream: OpenAIUpstream) -> None:
    completion = azure.chat.completions.create(model="upstream-gpt", messages=MSG)
    assert completion.choices[0].message.content == "This is a mock response to: hi azure"
    request = upstream.requests[-1]
    assert (request.path, request.json()["model"], request.json()["messages"]) == (
        "/v1/chat/completions", "gpt-4o-2024-08-06", MSG)
    assert request.headers["authorization"] == "Bearer sk-upstream-secret"  # the deployment's key, never the caller's


@pytest.mark.usefixtures("embedding_model")
def test_azure_client_streams(azure: openai.AzureOpenAI) -> None:
    chunks = list(azure.chat.completions.create(model="upstream-gpt", messages=MSG, stream=True,
                                                stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "This is a mock response to: hi azure"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8


@pytest.mark.usefixtures("embedding_model")
def test_azure_client_embeddings(azure: openai.AzureOpenAI, upstream: OpenAIUpstream) -> None:
    result = azure.embeddings.create(model="upstream-embed", input=["a b", "c"])
    assert len(result.data) == 2
    request = upstream.requests[-1]
    assert (request.path, request.json()["model"], request.json()["input"]) == (
        "/v1/embeddings", "text-embedding-3-small", ["a b", "c"])


@pytest.mark.usefixtures("example_models")
@pytest.mark.parametrize("path", ["/openai/deployments/gpt-4o-mini/chat/completions",
                                  "/engines/gpt-4o-mini/chat/completions"], ids=["deployments_case", "engines_case"])
def test_the_path_model_wins_over_the_body(http: httpx.Client, path: str) -> None:
    answer = http.post(f"{path}?api-version=2024-02-01", json={"model": "no-such-model", "messages": MSG},
                       headers={"Authorization": "", "api-key": MASTER_KEY})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "This is a mock response to: hi azure"
    assert answer.headers["x-litellm-model-group"] == "gpt-4o-mini"


@pytest.mark.usefixtures("example_models")
def test_engines_embeddings_need_no_model_in_the_body(http: httpx.Client) -> None:
    answer = http.post("/engines/text-embedding-3-small/embeddings", json={"input": "a b", "dimensions": 3})
    assert answer.status_code == 200, answer.text
    assert [len(item["embedding"]) for item in answer.json()["data"]] == [3]


@pytest.mark.usefixtures("example_models")
def test_azure_paths_answer_the_same_errors_as_v1(http: httpx.Client) -> None:
    unknown = http.post("/openai/deployments/nope/chat/completions", json={"messages": MSG})
    no_key = http.post("/openai/deployments/gpt-4o-mini/chat/completions", json={"messages": MSG},
                       headers={"Authorization": ""})
    bad_body = http.post("/openai/deployments/gpt-4o-mini/chat/completions", json={"messages": []})
    v1_unknown = http.post("/v1/chat/completions", json={"model": "nope", "messages": MSG})
    assert [unknown.status_code, no_key.status_code, bad_body.status_code] == [v1_unknown.status_code, 401, 400]
    assert unknown.json() == v1_unknown.json()
    assert bad_body.json()["error"]["param"] == "messages"
    assert no_key.json()["error"]["message"] == "No API key provided. Send 'Authorization: Bearer <key>'."


@pytest.mark.usefixtures("example_models")
async def test_warm_azure_calls_run_no_queries() -> None:
    client = AsyncClient()
    auth = {"api-key": MASTER_KEY}
    chat = "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-02-01"
    body = {"messages": MSG}
    assert (await client.post(chat, data=body, content_type="application/json", headers=auth)).status_code == 200
    with count_queries() as counter:
        plain = await client.post(chat, data=body, content_type="application/json", headers=auth)
        streamed = await client.post(chat, data={**body, "stream": True}, content_type="application/json", headers=auth)
        chunks = [chunk async for chunk in streamed.streaming_content]  # type: ignore[attr-defined]
        embedded = await client.post("/engines/text-embedding-3-small/embeddings", data={"input": "x"},
                                     content_type="application/json", headers=auth)
    assert [plain.status_code, streamed.status_code, embedded.status_code] == [200] * 3
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert counter.statements == []


@pytest.mark.usefixtures("example_models")
def test_azure_paths_refuse_bad_bodies_as_v1_does(http: httpx.Client) -> None:
    path = "/openai/deployments/gpt-4o-mini/chat/completions"
    not_json = http.post(path, content=b"{nope", headers={"Content-Type": "application/json"})
    unauthenticated = http.post(path, content=b"{nope", headers={"Authorization": ""})
    huge = http.post(path, json={"messages": MSG, "pad": "x" * (9 * 1024 * 1024)})
    assert [not_json.status_code, unauthenticated.status_code, huge.status_code] == [400, 401, 413]
    assert not_json.json()["error"]["code"] == "invalid_json"
