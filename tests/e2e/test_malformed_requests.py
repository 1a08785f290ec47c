"""Every kind of bad request gets OpenAI's error shape, the right status and the field named."""
from __future__ import annotations

import httpx
import pytest

from tests.conftest import MASTER_KEY

pytestmark = pytest.mark.usefixtures("example_models")
MSG = [{"role": "user", "content": "hi"}]


def error_of(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize(("body", "param", "code"), [
    pytest.param(b"{not json", None, "invalid_json", id="invalid_json_case"),
    pytest.param(b"[1, 2]", None, "invalid_json", id="not_an_object_case"),
    pytest.param(b"", None, "invalid_json", id="empty_body_case"),
    pytest.param(b'{"messages": [{"role": "user", "content": "x"}]}', "model", "missing_required_parameter",
                 id="missing_model_case"),
    pytest.param(b'{"model": 5, "messages": []}', "model", "invalid_type", id="model_not_string_case"),
    pytest.param(b'{"model": "gpt-4o-mini"}', "messages", "missing_required_parameter", id="missing_messages_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": []}', "messages", "empty_array", id="empty_messages_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": "hi"}', "messages", "invalid_type",
                 id="messages_not_array_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]}', "messages[0].role",
                 "invalid_value", id="bad_role_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "temperature": "hot"}', "temperature",
                 "invalid_type", id="temperature_type_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "stream": "yes"}', "stream",
                 "invalid_type", id="stream_type_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "max_tokens": 0}', "max_tokens",
                 "invalid_value", id="max_tokens_zero_case"),
    pytest.param(b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "n": true}', "n", "invalid_type",
                 id="n_boolean_case"),
])
def test_bad_chat_body_is_400_naming_the_field(http: httpx.Client, body: bytes, param: str | None, code: str) -> None:
    response = http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


def test_embeddings_without_input_is_400(http: httpx.Client) -> None:
    response = http.post("/v1/embeddings", json={"model": "text-embedding-3-small"})
    assert response.status_code == 400
    assert error_of(response)["param"] == "input"


def test_body_over_the_limit_is_413(http: httpx.Client) -> None:
    huge = "x" * (9 * 1024 * 1024)
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": huge}]})
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no_key_case"),
    pytest.param({"Authorization": "Bearer sk-nope"}, id="unknown_bearer_case"),
    pytest.param({"api-key": "sk-nope"}, id="unknown_api_key_header_case"),
    pytest.param({"Authorization": "Basic abc"}, id="wrong_scheme_case"),
])
def test_missing_or_unknown_key_is_401(gateway, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG},
                          headers=headers)
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == "authentication_error"
    assert "sk-nope" not in str(error)


@pytest.mark.parametrize("header", ["api-key", "x-api-key"])
def test_alternative_key_headers_are_accepted(gateway, header: str) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG},
                          headers={header: MASTER_KEY})
    assert response.status_code == 200


def test_bare_paths_are_served_like_v1(http: httpx.Client) -> None:
    response = http.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "This is a mock response to: hi"


def test_unknown_v1_path_is_json_404(http: httpx.Client) -> None:
    response = http.get("/v1/does-not-exist")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_wrong_method_is_json_not_html(http: httpx.Client) -> None:
    response = http.get("/v1/chat/completions")
    assert response.status_code in (404, 405)
    error_of(response)


def test_request_id_is_echoed_or_generated(http: httpx.Client) -> None:
    echoed = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG},
                       headers={"x-request-id": "client-abc-1"})
    assert echoed.headers["x-request-id"] == "client-abc-1"
    generated = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG})
    assert generated.headers["x-request-id"].startswith("req-")
    assert generated.headers["x-litellm-model-id"]


@pytest.mark.parametrize(("method", "path", "body"), [
    pytest.param("POST", "/v1/chat/completions", b"{", id="bad_json_case"),
    pytest.param("POST", "/v1/chat/completions", b'{"model": "nope", "messages": [{"role": "user"}]}',
                 id="unknown_model_case"),
    pytest.param("GET", "/v1/nowhere", b"", id="unknown_path_case"),
    pytest.param("GET", "/v1/chat/completions", b"", id="wrong_method_case"),
])
def test_errors_carry_the_request_id(http: httpx.Client, method: str, path: str, body: bytes) -> None:
    response = http.request(method, path, content=body, headers={"x-request-id": "err-123"})
    assert response.status_code >= 400
    assert response.headers["x-request-id"] == "err-123"


def test_gateway_keeps_serving_after_errors(http: httpx.Client) -> None:
    for _ in range(3):
        assert http.post("/v1/chat/completions", content=b"{").status_code == 400
    assert http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG}).status_code == 200
