"""`Router(model_list=[...])` in plain Python: the gateway's routing, retries and fallbacks, no server."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from apps.core.errors import ModelNotFound
from apps.providers.base import UpstreamError
from apps.routing import Router
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

ROOT = Path(__file__).resolve().parents[2]
MSG = [{"role": "user", "content": "route me"}]


def test_router_fails_over_to_a_healthy_deployment(openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.reset()
    openai_upstream.always_for("broken", Reply.json(503, {"error": {"message": "down"}}))
    router = Router(model_list=[
        {"model_name": "gpt", "litellm_params": {"model": "openai/broken", "api_base": openai_upstream.api_base,
                                                  "api_key": "sk-a", "weight": 1000}},
        {"model_name": "gpt", "litellm_params": {"model": "mock/healthy", "weight": 0.001}},
    ], num_retries=2)
    reply = router.completion(model="gpt", messages=MSG)
    assert reply.choices[0].message.content == "This is a mock response to: route me"
    assert openai_upstream.models_called() == ["broken"]
    assert openai_upstream.requests[0].headers["authorization"] == "Bearer sk-a"


def test_router_follows_fallbacks(openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.reset()
    openai_upstream.always_for("primary", Reply.json(500, {"error": {"message": "boom"}}))
    router = Router(model_list=[
        {"model_name": "main", "litellm_params": {"model": "openai/primary", "api_base": openai_upstream.api_base}},
        {"model_name": "backup", "litellm_params": {"model": "mock/backup", "mock_response": "from backup"}},
    ], num_retries=0, fallbacks=[{"main": ["backup"]}])
    assert router.completion(model="main", messages=MSG).choices[0].message.content == "from backup"


async def test_router_streams_and_embeds() -> None:
    router = Router(model_list=[{"model_name": "m", "litellm_params": {"model": "mock/m"}},
                                {"model_name": "e", "litellm_params": {"model": "mock/e"}}])
    stream = await router.acompletion(model="m", messages=MSG, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "This is a mock response to: route me"
    embedded = await router.aembedding(model="e", input="abc", dimensions=2)
    assert len(embedded.data[0].embedding) == 2


async def test_a_router_stream_that_breaks_before_its_first_token_moves_to_the_next_deployment(
        openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.reset()
    openai_upstream.always_for("breaks", Reply.stream([b'data: {"id": "x", "choices": [{"index": 0, "delta": '
                                                       b'{"role": "assistant", "content": ""}}]}\n\n'], drop=True))
    router = Router(model_list=[
        {"model_name": "gpt", "litellm_params": {"model": "openai/breaks", "api_base": openai_upstream.api_base,
                                                  "weight": 1000}},
        {"model_name": "gpt", "litellm_params": {"model": "mock/healthy", "weight": 0.001}},
    ], num_retries=2)
    stream = await router.acompletion(model="gpt", messages=MSG, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "This is a mock response to: route me"
    assert openai_upstream.models_called() == ["breaks"]


def test_router_works_without_django_settings() -> None:
    code = ("from apps.routing import Router; r = Router(model_list=[{'model_name': 'x', "
            "'litellm_params': {'model': 'mock/x', 'mock_response': 'routed'}}]); "
            "print(r.completion(model='x', messages=[{'role': 'user', 'content': 'q'}]).choices[0].message.content)")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "routed", result.stderr


def error_reply(status: int, message: str, kind: str) -> Reply:
    return Reply.json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})


def one_deployment(api_base: str) -> Router:
    return Router(model_list=[
        {"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o", "api_base": api_base}},
        {"model_name": "emb", "litellm_params": {"model": "openai/text-embedding-3-small", "api_base": api_base}},
    ], num_retries=0)


def test_router_errors_are_the_openai_classes_completion_raises(openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.reset()
    openai_upstream.reply_with(error_reply(429, "slow down", "rate_limit_error"),
                               error_reply(401, "bad key", "authentication_error"),
                               error_reply(404, "no such model", "invalid_request_error"))
    router = one_deployment(openai_upstream.api_base)
    with pytest.raises(openai.RateLimitError) as caught:
        router.completion(model="gpt", messages=MSG)
    assert isinstance(caught.value, UpstreamError)
    assert (caught.value.status_code, str(caught.value), str(caught.value.request.url)) == (
        429, "slow down", openai_upstream.api_base)
    with pytest.raises(openai.AuthenticationError):
        list(router.completion(model="gpt", messages=MSG, stream=True))  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError) as not_found:
        router.embedding(model="emb", input="x")
    assert str(not_found.value) == "no such model"
    assert len(openai_upstream.requests) == 3


async def test_router_async_calls_and_streams_raise_openai_classes(openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.reset()
    openai_upstream.reply_with(error_reply(500, "boom", "server_error"),
                               Reply.stream([b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n']),
                               error_reply(400, "bad input", "invalid_request_error"))
    router = one_deployment(openai_upstream.api_base)
    with pytest.raises(openai.InternalServerError):
        await router.acompletion(model="gpt", messages=MSG)
    with pytest.raises(openai.InternalServerError) as before_text:  # an error event before any text: the call failed
        await router.acompletion(model="gpt", messages=MSG, stream=True)
    assert (str(before_text.value), before_text.value.status_code) == ("overloaded", 500)
    with pytest.raises(openai.BadRequestError):
        await router.aembedding(model="emb", input="x")


def test_router_own_errors_are_openai_classes_too() -> None:
    router = Router(model_list=[{"model_name": "m", "litellm_params": {"model": "mock/m"}}])
    with pytest.raises(openai.NotFoundError) as caught:
        router.completion(model="missing", messages=MSG)
    assert isinstance(caught.value, ModelNotFound)
    assert (caught.value.status_code, caught.value.code, str(caught.value.request.url)) == (
        404, "model_not_found", "router://missing")
