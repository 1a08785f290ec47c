from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.providers import google_credentials
from apps.providers.adapters.vertex_ai import VertexAIAdapter
from apps.providers.base import ChatCall, Target, UpstreamError, UpstreamRequest
from tests.providers.translation import check_translation

CASES = ["text", "stream", "tool_call", "embedding", "error_auth", "error_rate_limit", "error_stream_list"]
CALL = ChatCall(model="v", messages=[{"role": "user", "content": "x"}])


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_vertex_ai_translation(case: str) -> None:
    check_translation("vertex_ai", case)


def test_global_location_uses_the_global_host() -> None:
    target = Target(provider="vertex_ai", model="gemini-2.5-flash", api_key="t",
                    extra={"vertex_project": "p", "vertex_location": "global"})
    assert VertexAIAdapter().translate_request(CALL, target).url == (
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/"
        "gemini-2.5-flash:generateContent")


def test_default_location_and_inline_credentials_project() -> None:
    target = Target(provider="vertex_ai", model="m", api_key="t",
                    extra={"vertex_credentials": json.dumps({"type": "service_account", "project_id": "from-json"})})
    assert VertexAIAdapter().translate_request(CALL, target).url.startswith(
        "https://us-central1-aiplatform.googleapis.com/v1/projects/from-json/locations/us-central1/")


def test_sign_fills_project_and_token_from_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({"type": "service_account", "project_id": "file-project"}))
    minted: list[object] = []

    def fake_mint(info: object) -> tuple[str, float]:
        minted.append(info)
        return "ya29.fake", 4e9

    monkeypatch.setattr(google_credentials, "_TOKENS", google_credentials.TokenCache())
    monkeypatch.setattr(google_credentials, "mint_with_google_auth", fake_mint)
    target = Target(provider="vertex_ai", model="m", extra={"vertex_credentials": str(path)})
    adapter = VertexAIAdapter()
    signed = adapter.sign(adapter.translate_request(CALL, target), target)
    assert "/projects/file-project/" in signed.url
    assert signed.headers["Authorization"] == "Bearer ya29.fake"
    assert minted == [{"type": "service_account", "project_id": "file-project"}]


def test_unreadable_credentials_are_an_authentication_error(tmp_path: Path) -> None:
    target = Target(provider="vertex_ai", model="m", extra={"vertex_project": "p",
                                                           "vertex_credentials": str(tmp_path / "missing.json")})
    request = UpstreamRequest(method="POST", url="https://x/v1/projects/p/m", headers={}, body=b"")
    with pytest.raises(UpstreamError) as caught:
        VertexAIAdapter().sign(request, target)
    assert (caught.value.status, caught.value.error_code) == (401, "invalid_api_key")


def test_missing_project_is_a_client_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    target = Target(provider="vertex_ai", model="m", api_key="t")
    adapter = VertexAIAdapter()
    with pytest.raises(UpstreamError) as caught:
        adapter.sign(adapter.translate_request(CALL, target), target)
    assert caught.value.status == 400
