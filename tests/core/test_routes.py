"""GET /routes lists what the gateway serves in LiteLLM's shape, read from the live URL map."""
from __future__ import annotations

import httpx


def test_routes_lists_the_api_and_management_routes(http: httpx.Client) -> None:
    answer = http.get("/routes")
    assert answer.status_code == 200, answer.text
    routes = {(r["path"], tuple(r["methods"])): r for r in answer.json()["routes"]}
    assert routes[("/v1/chat/completions", ("POST",))]["endpoint"] == "chat_completions"
    assert routes[("/openai/deployments/{model}/chat/completions", ("POST",))]["endpoint"] == \
        "deployment_chat_completions"
    assert routes[("/key/generate", ("POST",))]["endpoint"] == "KeyGenerate"
    assert routes[("/model/{model_id}/update", ("PATCH", "POST"))]["endpoint"] == "ModelUpdate"
    assert routes[("/health", ("GET",))]["endpoint"] == "deployments_health"
    assert ("/routes", ("GET",)) in routes
    assert not [path for path, _ in routes if path.startswith(("/admin", "/static"))]
    assert set(answer.json()["routes"][0]) == {"path", "methods", "name", "endpoint"}


def test_routes_needs_a_key(http: httpx.Client) -> None:
    assert http.get("/routes", headers={"Authorization": ""}).status_code == 401
