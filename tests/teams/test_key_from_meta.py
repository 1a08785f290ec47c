"""Which API key a request's headers carry (apps.teams.auth.key_from_meta)."""
from __future__ import annotations

import pytest

from apps.teams.auth import key_from_meta


@pytest.mark.parametrize(("meta", "key"), [
    pytest.param({"HTTP_AUTHORIZATION": "Bearer sk-abc"}, "sk-abc", id="bearer_case"),
    pytest.param({"HTTP_AUTHORIZATION": "sk-abc"}, "sk-abc", id="bare_key_case"),
    pytest.param({"HTTP_AUTHORIZATION": "Bearer "}, None, id="empty_bearer_case"),  # was the key "Bearer"
    pytest.param({"HTTP_AUTHORIZATION": "Bearer"}, None, id="bearer_alone_case"),
    pytest.param({"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw=="}, None, id="other_scheme_case"),
    pytest.param({"HTTP_API_KEY": "sk-azure"}, "sk-azure", id="api_key_header_case"),
    pytest.param({"HTTP_X_API_KEY": "sk-anthropic"}, "sk-anthropic", id="x_api_key_header_case"),
])
def test_the_key_a_request_carries(meta: dict[str, object], key: str | None) -> None:
    assert key_from_meta(meta) == key
