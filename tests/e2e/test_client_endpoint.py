"""A call may not name an endpoint of its own (`api_base`, `base_url` in the body): 400, and no request leaves
the gateway, so no key can make the gateway reach an internal address (LiteLLM refuses the same fields)."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

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
