from __future__ import annotations

import pytest

from apps.core import jsonutil
from apps.providers.adapters.azure import AzureContentFilterError
from apps.providers.adapters.openai_compatible import ApiBaseRequired
from apps.providers.base import ChatCall, EmbeddingCall, Target
from apps.providers.registry import adapter_for
from tests.providers.translation import check_translation, load

CASES = ["text", "stream", "stream_filtered", "tool_call", "content_filter_finish", "embedding", "error_auth",
         "error_rate_limit", "error_content_filter", "error_context", "error_deployment", "error_server"]


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c}_case") for c in CASES])
def test_azure_translation(case: str) -> None:
    check_translation("azure", case)


def azure_target(**changes: object) -> Target:
    fields = {"provider": "azure", "model": "gpt4o-prod", "api_base": "https://res.openai.azure.com",
              "api_key": "azure-key-test", **changes}
    return Target(**fields)  # type: ignore[arg-type]


CALL = ChatCall(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True)


@pytest.mark.parametrize(("version", "url"), [
    pytest.param("v1", "https://res.openai.azure.com/openai/v1/chat/completions", id="v1_case"),
    pytest.param("preview", "https://res.openai.azure.com/openai/v1/chat/completions?api-version=preview",
                 id="preview_case"),
    pytest.param(None, "https://res.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions"
                       "?api-version=2024-10-21", id="default_version_case"),
    pytest.param("2025-04-01-preview", "https://res.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions"
                                       "?api-version=2025-04-01-preview", id="dated_preview_case"),
])
def test_url_follows_api_version(version: str | None, url: str) -> None:
    request = adapter_for("azure").translate_request(CALL, azure_target(api_version=version))
    assert request.url == url


def test_v1_body_names_the_deployment_as_model() -> None:
    request = adapter_for("azure").translate_request(CALL, azure_target(api_version="v1"))
    assert jsonutil.loads(request.body)["model"] == "gpt4o-prod"


@pytest.mark.parametrize("base", ["https://res.openai.azure.com/openai/v1/", "https://res.openai.azure.com/openai"])
def test_base_given_with_openai_path_is_accepted(base: str) -> None:
    request = adapter_for("azure").translate_request(CALL, azure_target(api_base=base, api_version="v1"))
    assert request.url == "https://res.openai.azure.com/openai/v1/chat/completions"


def test_entra_token_is_sent_as_bearer_instead_of_api_key() -> None:
    target = azure_target(extra={"azure_ad_token": "eyJ0b2tlbg"})
    headers = dict(adapter_for("azure").translate_request(CALL, target).headers)
    assert headers["Authorization"] == "Bearer eyJ0b2tlbg"
    assert "api-key" not in headers


def test_old_api_version_gets_no_stream_options() -> None:
    request = adapter_for("azure").translate_request(CALL, azure_target(api_version="2024-02-01"))
    assert "stream_options" not in jsonutil.loads(request.body)


def test_missing_api_base_names_the_fix() -> None:
    with pytest.raises(ApiBaseRequired, match="api_base"):
        adapter_for("azure").translate_request(CALL, azure_target(api_base=None))


def test_embeddings_use_the_deployment_url() -> None:
    request = adapter_for("azure").translate_embedding_request(
        EmbeddingCall(model="emb", input="x"), azure_target(model="emb-prod", api_version="2024-10-21"))
    assert request.url == "https://res.openai.azure.com/openai/deployments/emb-prod/embeddings?api-version=2024-10-21"


def test_content_filter_block_keeps_innererror_for_the_client() -> None:
    spec = load("azure", "error_content_filter.error.json")
    error = adapter_for("azure").map_error(400, {}, jsonutil.dumps(spec["body"]))
    assert isinstance(error, AzureContentFilterError)
    assert error.is_content_policy
    assert error.payload() == {"error": {
        "message": spec["body"]["error"]["message"], "type": "invalid_request_error", "param": "prompt",
        "code": "content_policy_violation", "innererror": spec["body"]["error"]["innererror"]}}
