"""`Router(model_list=[...])` in plain Python: the gateway's routing, retries and fallbacks, no server."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_router_works_without_django_settings() -> None:
    code = ("from apps.routing import Router; r = Router(model_list=[{'model_name': 'x', "
            "'litellm_params': {'model': 'mock/x', 'mock_response': 'routed'}}]); "
            "print(r.completion(model='x', messages=[{'role': 'user', 'content': 'q'}]).choices[0].message.content)")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "routed", result.stderr
