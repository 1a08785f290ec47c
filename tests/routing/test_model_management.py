"""LiteLLM's model management endpoints driven over HTTP as a LiteLLM script drives them, on the gateway process."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

MSG = [{"role": "user", "content": "hello"}]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SECRETS = ("sk-upstream-secret-0123456789", "aws-secret-0123456789", "session-token-0123456789",
           "Bearer header-secret-0123456789")


def chat(http: httpx.Client, model: str) -> httpx.Response:
    return http.post("/v1/chat/completions", json={"model": model, "messages": MSG})


def add_mock_model(http: httpx.Client, name: str, text: str, **model_info: Any) -> dict[str, Any]:
    answer = http.post("/model/new", json={"model_name": name, "model_info": model_info,
                                           "litellm_params": {"model": "mock/gpt-4o-mini", "mock_response": text}})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def key_for(http: httpx.Client, **body: Any) -> httpx.Client:
    """A client holding a new virtual key made with /key/generate."""
    answer = http.post("/key/generate", json=body)
    assert answer.status_code == 200, answer.text
    return httpx.Client(base_url=str(http.base_url), headers={"Authorization": f"Bearer {answer.json()['key']}"},
                        timeout=30)


@pytest.fixture
def proxy_admin(http: httpx.Client) -> Iterator[httpx.Client]:
    """The key of a `proxy_admin` user (not the master key)."""
    answer = http.post("/user/new", json={"user_id": "ops-admin", "user_role": "proxy_admin"})
    assert answer.status_code == 200, answer.text
    with httpx.Client(base_url=str(http.base_url), headers={"Authorization": f"Bearer {answer.json()['key']}"},
                      timeout=30) as client:
        yield client


def test_a_model_added_over_http_serves_on_the_next_call(http: httpx.Client) -> None:
    assert chat(http, "fresh").status_code == 404
    row = add_mock_model(http, "fresh", "from the new model")
    assert UUID.match(row["model_id"])
    assert (row["model_name"], row["litellm_params"]) == (
        "fresh", {"model": "mock/gpt-4o-mini", "mock_response": "from the new model"})
    assert (row["model_info"]["id"], row["model_info"]["db_model"]) == (row["model_id"], True)
    answer = chat(http, "fresh")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "from the new model"


def test_a_model_added_on_one_replica_serves_on_another(http: httpx.Client, gateway: GatewayProcess,
                                                       tmp_path: Any) -> None:
    other = GatewayProcess(log_dir=tmp_path)
    try:
        with httpx.Client(base_url=other.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30) as peer:
            assert chat(peer, "replicated").status_code == 404  # the peer has built its table already
            row = add_mock_model(http, "replicated", "served by the peer")
            answer = chat(peer, "replicated")
            assert answer.json()["choices"][0]["message"]["content"] == "served by the peer"
            assert peer.post("/model/delete", json={"id": row["model_id"]}).status_code == 200
            assert chat(http, "replicated").status_code == 404
    finally:
        other.stop()


def test_the_client_may_choose_the_id(http: httpx.Client) -> None:
    row = add_mock_model(http, "chosen", "x", id="my-model-1", access_groups=["beta"])
    assert (row["model_id"], row["model_info"]["id"], row["model_info"]["access_groups"]) == (
        "my-model-1", "my-model-1", ["beta"])
    again = http.post("/model/new", json={"model_name": "chosen", "litellm_params": {"model": "mock/x"},
                                          "model_info": {"id": "my-model-1"}})
    assert again.status_code == 400
    assert again.json()["error"] == {"message": "A model with id=my-model-1 already exists.",
                                     "type": "invalid_request_error", "param": "model_info.id",
                                     "code": "model_exists"}


def test_secrets_are_used_upstream_and_never_returned(http: httpx.Client, upstream: OpenAIUpstream) -> None:
    params = {"model": "openai/gpt-4o-2024-08-06", "api_base": upstream.api_base, "api_key": SECRETS[0],
              "aws_secret_access_key": SECRETS[1], "aws_session_token": SECRETS[2],
              "extra_headers": {"X-Upstream-Token": SECRETS[3], "X-Team": "search"}, "rpm": 60}
    row = http.post("/model/new", json={"model_name": "keyed", "litellm_params": params}).json()
    assert row["litellm_params"] == {"model": "openai/gpt-4o-2024-08-06", "api_base": upstream.api_base, "rpm": 60,
                                     "aws_session_token": "********",
                                     "extra_headers": {"X-Upstream-Token": "********", "X-Team": "search"}}
    assert chat(http, "keyed").status_code == 200
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {SECRETS[0]}"
    assert upstream.requests[-1].headers["x-upstream-token"] == SECRETS[3]
    answers = [http.get("/model/info").text, http.get("/v2/model/info").text, http.get("/model_group/info").text,
               http.get("/model/info", params={"litellm_model_id": row["model_id"]}).text,
               http.post("/model/update", json={"model_info": {"id": row["model_id"]},
                                                "litellm_params": {"rpm": 120}}).text]
    assert not [secret for secret in SECRETS for text in answers if secret in text]
    assert chat(http, "keyed").status_code == 200  # an update that sends no api_key keeps it
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {SECRETS[0]}"


def test_update_merges_and_the_next_call_uses_it(http: httpx.Client) -> None:
    row = add_mock_model(http, "editable", "before", mode="chat")
    updated = http.post("/model/update", json={"model_info": {"id": row["model_id"], "tier": "paid"},
                                               "litellm_params": {"mock_response": "after", "tpm": 1000}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["litellm_params"] == {"model": "mock/gpt-4o-mini", "tpm": 1000, "mock_response": "after"}
    assert (updated.json()["model_info"]["mode"], updated.json()["model_info"]["tier"]) == ("chat", "paid")
    assert chat(http, "editable").json()["choices"][0]["message"]["content"] == "after"
    renamed = http.patch(f"/model/{row['model_id']}/update", json={"model_name": "renamed"})
    assert (renamed.status_code, renamed.json()["model_name"]) == (200, "renamed")
    assert chat(http, "editable").status_code == 404
    assert chat(http, "renamed").json()["choices"][0]["message"]["content"] == "after"


def test_delete_removes_the_model_from_routing(http: httpx.Client) -> None:
    row = add_mock_model(http, "doomed", "x")
    deleted = http.post("/model/delete", json={"id": row["model_id"]})
    assert deleted.json() == {"message": f"Model: {row['model_id']} deleted successfully"}
    assert chat(http, "doomed").status_code == 404
    again = http.post("/model/delete", json={"id": row["model_id"]})
    assert (again.status_code, again.json()["error"]["code"]) == (404, "model_not_found")


@pytest.mark.usefixtures("example_models")
def test_config_models_are_read_only_here(http: httpx.Client) -> None:
    update = http.post("/model/update", json={"model_info": {"id": "mock-gpt-4o-mini-a"},
                                              "litellm_params": {"rpm": 1}})
    delete = http.post("/model/delete", json={"id": "mock-gpt-4o-mini-a"})
    assert [update.status_code, delete.status_code] == [400, 400]
    assert [update.json()["error"]["code"], delete.json()["error"]["code"]] == ["model_in_config"] * 2
    info = http.get("/model/info", params={"litellm_model_id": "mock-gpt-4o-mini-a"}).json()["data"]
    assert [(e["model_name"], e["litellm_params"], e["model_info"]["db_model"]) for e in info] == [
        ("gpt-4o-mini", {"model": "mock/gpt-4o-mini"}, False)]


@pytest.mark.parametrize(("body", "param", "message"), [
    ({"model_name": "m", "litellm_params": {"model": "mock/x"}, "aliases": {}}, "aliases",
     "aliases: Unknown field 'aliases'."),
    ({"model_name": "m", "litellm_params": {}}, "litellm_params.model",
     "litellm_params.model: required, e.g. openai/gpt-4o."),
    ({"litellm_params": {"model": "mock/x"}}, "model_name", "model_name: must be a non-empty string."),
    ({"model_name": "m", "litellm_params": {"model": "nosuch/x"}}, "litellm_params.model",
     "unknown provider 'nosuch' in 'nosuch/x'"),
    ({"model_name": "m", "litellm_params": {"model": "mock/x", "rpm": "lots"}}, "litellm_params.rpm",
     "litellm_params.rpm must be a number, got 'lots'"),
], ids=["unknown_field_case", "no_model_case", "no_name_case", "unknown_provider_case", "bad_number_case"])
def test_bad_bodies_are_refused_naming_the_field(http: httpx.Client, body: dict[str, Any], param: str,
                                                 message: str) -> None:
    answer = http.post("/model/new", json=body)
    assert answer.status_code == 400
    assert (answer.json()["error"]["param"], answer.json()["error"]["message"]) == (param, message)


@pytest.mark.usefixtures("example_models")
def test_only_proxy_admins_write(http: httpx.Client, proxy_admin: httpx.Client) -> None:
    body = {"model_name": "admin-made", "litellm_params": {"model": "mock/x"}}
    with key_for(http) as plain:
        refused = [plain.post("/model/new", json=body), plain.post("/model/delete", json={"id": "mock-embedding"}),
                   plain.post("/model/update", json={"model_info": {"id": "mock-embedding"}})]
        assert [r.status_code for r in refused] == [403, 403, 403]
    made = proxy_admin.post("/model/new", json=body)
    assert made.status_code == 200, made.text
    assert proxy_admin.post("/model/delete", json={"id": made.json()["model_id"]}).status_code == 200
    assert http.post("/model/new", json=body, headers={"Authorization": ""}).status_code == 401


@pytest.mark.usefixtures("example_models")
def test_readers_see_only_the_models_their_key_may_use(http: httpx.Client) -> None:
    with key_for(http, models=["text-embedding-3-small"]) as reader:
        info = reader.get("/model/info").json()["data"]
        page = reader.get("/v2/model/info").json()
        groups = reader.get("/model_group/info").json()["data"]
        hidden = reader.get("/model/info", params={"litellm_model_id": "mock-gpt-4o-mini-a"})
    assert [e["model_info"]["id"] for e in info] == ["mock-embedding"]
    assert ([e["model_info"]["id"] for e in page["data"]], page["total_count"]) == (["mock-embedding"], 1)
    assert [g["model_group"] for g in groups] == ["text-embedding-3-small"]
    assert hidden.status_code == 404
    everything = http.get("/model/info").json()["data"]
    assert sorted(e["model_info"]["id"] for e in everything) == [
        "mock-embedding", "mock-gpt-4o-mini-a", "mock-gpt-4o-mini-b"]


@pytest.mark.usefixtures("example_models")
def test_v2_model_info_pages_sorts_and_searches(http: httpx.Client) -> None:
    first = http.get("/v2/model/info", params={"size": 2, "sortBy": "model_name", "sortOrder": "desc"}).json()
    assert {k: v for k, v in first.items() if k != "data"} == {"total_count": 3, "current_page": 1,
                                                                "total_pages": 2, "size": 2}
    assert [e["model_name"] for e in first["data"]] == ["text-embedding-3-small", "gpt-4o-mini"]
    second = http.get("/v2/model/info", params={"size": 2, "page": 2, "sortBy": "model_name", "sortOrder": "desc"})
    assert [e["model_name"] for e in second.json()["data"]] == ["gpt-4o-mini"]
    found = http.get("/v2/model/info", params={"search": "EMBED"}).json()
    assert [e["model_info"]["id"] for e in found["data"]] == ["mock-embedding"]
    by_id = http.get("/v2/model/info", params={"modelId": "mock-gpt-4o-mini-b"}).json()
    assert [e["model_info"]["id"] for e in by_id["data"]] == ["mock-gpt-4o-mini-b"]
    bad = http.get("/v2/model/info", params={"sortOrder": "sideways"})
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "sortOrder")


@pytest.mark.usefixtures("example_models")
def test_model_group_info_combines_a_groups_deployments(http: httpx.Client) -> None:
    add_mock_model(http, "gpt-4o-mini", "x", supports_vision=True)
    data = http.get("/model_group/info", params={"model_group": "gpt-4o-mini"}).json()["data"]
    assert len(data) == 1
    group = data[0]
    assert {k: group[k] for k in ("model_group", "providers", "max_input_tokens", "max_output_tokens",
                                  "input_cost_per_token", "output_cost_per_token", "mode", "tpm", "rpm",
                                  "supports_vision", "supports_function_calling", "is_public_model_group")} == {
        "model_group": "gpt-4o-mini", "providers": ["mock"], "max_input_tokens": 128000, "max_output_tokens": 4096,
        "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "mode": "chat", "tpm": None, "rpm": None,
        "supports_vision": True, "supports_function_calling": False, "is_public_model_group": False}
    assert "temperature" in group["supported_openai_params"]


def test_an_update_sending_a_null_key_keeps_the_stored_one(http: httpx.Client, upstream: OpenAIUpstream) -> None:
    params = {"model": "openai/gpt-4o-2024-08-06", "api_base": upstream.api_base, "api_key": SECRETS[0]}
    row = http.post("/model/new", json={"model_name": "keyed", "litellm_params": params}).json()
    updated = http.post("/model/update", json={"model_info": {"id": row["model_id"]},
                                               "litellm_params": {"api_key": None, "rpm": 5}})
    assert updated.status_code == 200, updated.text
    assert chat(http, "keyed").status_code == 200
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {SECRETS[0]}"


def test_a_model_is_found_by_the_id_its_answers_carry(http: httpx.Client) -> None:
    row = add_mock_model(http, "by-header", "x")
    served_by = chat(http, "by-header").headers["x-litellm-model-id"]
    for model_id in (row["model_id"], served_by):
        info = http.get("/model/info", params={"litellm_model_id": model_id}).json()["data"]
        page = http.get("/v2/model/info", params={"modelId": model_id}).json()["data"]
        assert [e["model_info"]["id"] for e in info + page] == [row["model_id"]] * 2
