"""The Python SDK: no server, no database; same adapters and transport as the gateway."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.providers import acompletion, completion, embedding
from tests.upstreams.openai import OpenAIUpstream

ROOT = Path(__file__).resolve().parents[2]
MSG = [{"role": "user", "content": "hello sdk"}]


def test_completion_returns_openai_shaped_object() -> None:
    reply = completion(model="mock/any", messages=MSG)
    assert reply.choices[0].message.content == "This is a mock response to: hello sdk"
    assert reply.usage.completion_tokens == 8


def test_streaming_completion_yields_chunks() -> None:
    chunks = list(completion(model="mock/any", messages=MSG, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
        "This is a mock response to: hello sdk"


async def test_async_completion_and_stream() -> None:
    reply = await acompletion(model="mock/any", messages=MSG, max_tokens=2)
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == ("This is", "length")
    stream = await acompletion(model="mock/any", messages=MSG, stream=True)
    assert [c async for c in stream][-1].choices[0].finish_reason == "stop"


def test_embedding() -> None:
    result = embedding(model="mock/emb", input=["a", "b"], dimensions=3)
    assert [len(item.embedding) for item in result.data] == [3, 3]


def test_keys_come_from_arguments_or_env(openai_upstream: OpenAIUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_upstream.reset()
    completion(model="openai/gpt-x", messages=MSG, api_base=openai_upstream.api_base, api_key="sk-arg")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)  # read before OPENAI_API_BASE, as LiteLLM does
    monkeypatch.setenv("OPENAI_API_BASE", openai_upstream.api_base)
    completion(model="openai/gpt-x", messages=MSG)
    assert [r.headers["authorization"] for r in openai_upstream.requests] == ["Bearer sk-arg", "Bearer sk-env"]
    assert openai_upstream.requests[0].json()["model"] == "gpt-x"


def test_sdk_works_without_django_settings() -> None:
    code = ("from apps.providers import completion; "
            "print(completion(model='mock/m', messages=[{'role': 'user', 'content': 'x'}]).choices[0].message.content)")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "This is a mock response to: x", result.stderr


def test_no_other_provider_falls_back_to_the_openai_key() -> None:
    from apps.providers.registry import ADAPTERS, adapter_for

    leaking = [prefix for prefix in ADAPTERS if prefix != "openai"
               and "OPENAI_API_KEY" in getattr(adapter_for(prefix), "api_key_env", ())]
    assert leaking == []


def test_preset_reads_its_own_key(openai_upstream: OpenAIUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_upstream.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-groq")
    completion(model="groq/llama-3.3-70b-versatile", messages=MSG, api_base=openai_upstream.api_base)
    assert openai_upstream.requests[-1].headers["authorization"] == "Bearer gsk-groq"


def test_every_adapter_declares_its_own_sdk_env_names() -> None:
    from apps.providers.registry import ADAPTERS, adapter_for

    undeclared = [prefix for prefix in ADAPTERS
                  if not any("api_key_env" in vars(klass) for klass in type(adapter_for(prefix)).__mro__[:2])]
    assert undeclared == []
