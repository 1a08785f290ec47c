"""The SDK lines LiteLLM's introduction shows work as written (with our import), each against a wire mock:
pointed there by the provider's standard variables, or by the `api_base` the line itself passes."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from apps.providers import acompletion, completion
from tests.upstreams import anthropic, azure, bedrock, ollama
from tests.upstreams.openai import OpenAIUpstream

msgs = [{"role": "user", "content": "Hello!"}]


@pytest.fixture
def openai_env(openai_upstream: OpenAIUpstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIUpstream]:
    openai_upstream.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", openai_upstream.api_base)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    yield openai_upstream


def test_bare_gpt_4o(openai_env: OpenAIUpstream) -> None:
    reply = completion(model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}])
    assert reply.choices[0].message.content == "This is a mock response to: Hello!"
    [seen] = openai_env.requests
    assert (seen.path, seen.headers["authorization"], seen.json()["model"]) == (
        "/v1/chat/completions", "Bearer sk-from-env", "gpt-4o")


def test_bare_claude_goes_to_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    with anthropic.gateway_upstream() as upstream:
        monkeypatch.setenv("ANTHROPIC_API_BASE", upstream.api_base)
        monkeypatch.setenv("ANTHROPIC_API_KEY", anthropic.API_KEY)
        reply = completion(model="claude-sonnet-4-20250514", messages=[{"role": "user", "content": "Hello!"}])
        [seen] = upstream.server.requests
    assert reply.choices[0].message.content == "Hello from Anthropic."
    assert (seen.path, seen.json()["model"], seen.json()["messages"]) == (
        "/v1/messages", "claude-sonnet-4-20250514", [{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}])


def test_azure_with_api_base_and_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_API_VERSION", raising=False)
    with azure.server() as upstream:
        reply = completion(model="azure/gpt-4o", messages=msgs, api_base=upstream.url, api_key=azure.API_KEY)
        [seen] = upstream.requests
    assert reply.choices[0].message.content == "Hello from Azure."
    assert (seen.path, seen.query, seen.headers["api-key"]) == (
        "/openai/deployments/gpt-4o/chat/completions", {"api-version": ["2024-10-21"]}, azure.API_KEY)


def test_bedrock_with_aws_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", bedrock.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bedrock.SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with bedrock.gateway_upstream() as upstream:
        monkeypatch.setenv("AWS_BEDROCK_RUNTIME_ENDPOINT", upstream.api_base)
        reply = completion(model="bedrock/anthropic.claude-3-sonnet-20240229-v1:0", messages=msgs)
        [seen] = upstream.server.requests  # the twin verified its SigV4 signature
    assert reply.choices[0].message.content == "Hello from Bedrock."
    assert seen.path == f"/model/{quote('anthropic.claude-3-sonnet-20240229-v1:0', safe='')}/converse"
    assert seen.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={bedrock.ACCESS_KEY}/") and "/us-east-1/bedrock/" in seen.headers["authorization"]


def test_ollama_with_api_base() -> None:
    with ollama.server() as upstream:
        reply = completion(model="ollama/llama3.2", messages=msgs, api_base=upstream.url)
        [seen] = upstream.requests
    assert reply.choices[0].message.content == "Hello from Ollama."
    assert (seen.path, seen.json()["model"]) == ("/api/chat", "llama3.2")


async def test_ten_acompletions_gathered(openai_env: OpenAIUpstream) -> None:
    replies = await asyncio.gather(*[acompletion(model="gpt-4o", messages=[{"role": "user", "content": f"call {i}"}])
                                     for i in range(10)])
    assert [reply.choices[0].message.content for reply in replies] == [
        f"This is a mock response to: call {i}" for i in range(10)]
    assert sorted(seen.json()["messages"][0]["content"] for seen in openai_env.requests) == sorted(
        f"call {i}" for i in range(10))
