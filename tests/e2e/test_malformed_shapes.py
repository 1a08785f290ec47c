"""A malformed message, content part, tool or format is a 400 naming the field, on every provider and surface.

Each case once crashed an adapter's translation (a 500): the body is now checked before routing, so the
provider's mock receives nothing, and the gateway keeps serving that deployment afterwards.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.test_providers_through_gateway import FACTORIES, deploy
from tests.upstreams.gateway import GatewayUpstream

PROVIDERS = ["openai", "anthropic", "bedrock", "gemini", "cohere", "ollama", "mock"]
USER = {"role": "user", "content": "hi"}
ASKED = {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
CHAT: list[tuple[dict[str, Any], str]] = [
    ({"messages": [{"role": "user", "content": {"a": 1}}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [5]}]}, "messages[0].content[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": {"x": 1}}]}]}, "messages[0].content[0].text"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
     "messages[0].content[0].image_url"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}]},
     "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": [{"type": "hologram"}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "system", "content": [5]}, USER]}, "messages[0].content[0]"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [5]}]}, "messages[1].tool_calls[0]"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": 5}]}]},
     "messages[1].tool_calls[0].function"),
    ({"messages": [USER, ASKED, {"role": "tool", "tool_call_id": "c1", "content": [5]}]}, "messages[2].content[0]"),
    ({"messages": [USER, ASKED, {"role": "tool", "content": "9"}]}, "messages[2].tool_call_id"),
    ({"messages": [USER], "tools": [5]}, "tools[0]"),
    ({"messages": [USER], "tools": [{"type": "function", "function": 5}]}, "tools[0].function"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": 5}}, "tool_choice.function"),
    ({"messages": [USER], "response_format": {"type": "json_schema", "json_schema": 5}},
     "response_format.json_schema"),
]
MESSAGES: list[tuple[dict[str, Any], str]] = [
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": {"x": 1}}]}]}, "messages.0.content.0.text"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": 5}]}]}, "messages.0.content.0.source"),
    ({"messages": [USER, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 5}]}]},
     "messages.2.content.0.content"),
    ({"messages": [USER], "system": [{"type": "text", "text": 5}]}, "system.0.text"),
    ({"messages": [USER], "thinking": {"type": "enabled", "budget_tokens": "lots"}}, "thinking.budget_tokens"),
    ({"messages": [USER], "tools": [{"name": "f", "input_schema": 5}]}, "tools.0.input_schema"),
]
RESPONSES: list[tuple[dict[str, Any], str]] = [
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": 5}]}]},
     "input[0].content[0].image_url"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c", "output": [5]}]}, "input[1].output[0].type"),
    ({"input": "hi", "tools": [{"type": "function", "name": "f", "parameters": 5}]}, "tools[0].parameters"),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "a", "schema": 5}}}, "text.format.schema"),
]


@pytest.fixture
def model(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[tuple[str, GatewayUpstream | None]]:
    """A deployment of the provider (on its wire-format mock) and the mock; `mock` is the built-in provider."""
    if request.param == "mock":
        deploy(name="e2e-mock", provider="mock", model="mock-model", api_base="", api_key="")
        yield "e2e-mock", None
        return
    with FACTORIES[request.param]() as upstream:
        deploy(name=f"e2e-{upstream.provider}", provider=upstream.provider, model=upstream.provider_model,
               api_base=upstream.api_base, api_key=upstream.api_key, api_version=upstream.api_version,
               litellm_params=dict(upstream.litellm_params))
        yield f"e2e-{upstream.provider}", upstream


def refusals(http: httpx.Client, path: str, name: str, cases: list[tuple[dict[str, Any], str]],
             **extra: Any) -> list[tuple[int, Any]]:
    """(status, error body) for each case whose answer is not the right 400 naming its field."""
    wrong = []
    for body, param in cases:
        response = http.post(path, json={"model": name, **extra, **body})
        error = response.json() if response.headers.get("content-type") == "application/json" else response.text
        if path == "/v1/messages":  # Anthropic's shape: the field path is in the message
            ok = (isinstance(error, dict) and error.get("type") == "error"
                  and error["error"]["type"] == "invalid_request_error" and param in error["error"]["message"])
        else:
            ok = (isinstance(error, dict) and set(error) == {"error"}
                  and set(error["error"]) == {"message", "type", "param", "code"}
                  and (error["error"]["param"], error["error"]["type"]) == (param, "invalid_request_error"))
        if response.status_code != 400 or not ok:
            wrong.append((response.status_code, error))
    return wrong


@pytest.mark.parametrize("model", [pytest.param(name, id=f"{name}_case") for name in PROVIDERS], indirect=True)
def test_malformed_bodies_are_400_naming_the_field_and_reach_no_provider(
        model: tuple[str, GatewayUpstream | None], http: httpx.Client) -> None:
    name, upstream = model
    assert refusals(http, "/v1/chat/completions", name, CHAT) == []
    assert refusals(http, "/v1/messages", name, MESSAGES, max_tokens=5) == []
    assert refusals(http, "/v1/responses", name, RESPONSES, store=False) == []
    if upstream is not None:
        assert upstream.server.requests == []
    served = http.post("/v1/chat/completions", json={"model": name, "messages": [USER]})
    assert served.status_code == 200, served.text
    assert served.json()["choices"][0]["message"]["role"] == "assistant"
