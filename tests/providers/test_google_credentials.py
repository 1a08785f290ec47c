from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.providers.google_credentials import (
    CredentialsError,
    TokenCache,
    access_token,
    credentials_info,
    project_id,
)

INFO = {"type": "service_account", "project_id": "acme", "client_email": "sa@acme.iam.gserviceaccount.com"}


def test_credentials_come_from_inline_json_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(INFO))
    assert credentials_info(json.dumps(INFO), environ={}) == INFO
    assert credentials_info(str(path), environ={}) == INFO
    assert credentials_info(INFO, environ={}) == INFO
    assert credentials_info(None, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(path)}) == INFO
    assert credentials_info(None, environ={}) is None


def test_bad_credentials_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read"):
        credentials_info(str(tmp_path / "absent.json"), environ={})
    with pytest.raises(CredentialsError, match="not valid JSON"):
        credentials_info("{not json", environ={})


def test_project_falls_back_to_google_cloud_project() -> None:
    assert project_id(json.dumps(INFO), environ={}) == "acme"
    assert project_id(None, environ={"GOOGLE_CLOUD_PROJECT": "env-project"}) == "env-project"
    assert project_id(None, environ={}) is None


def test_tokens_are_reused_until_shortly_before_expiry() -> None:
    cache, mints = TokenCache(), []

    def mint(info: object) -> tuple[str, float]:
        mints.append(info)
        return f"token-{len(mints)}", 1000.0 + 3600

    assert access_token(INFO, environ={}, cache=cache, mint=mint, now=1000.0) == "token-1"
    assert access_token(INFO, environ={}, cache=cache, mint=mint, now=1000.0 + 3000) == "token-1"
    assert access_token(INFO, environ={}, cache=cache, mint=mint, now=1000.0 + 3400) == "token-2"
    assert mints == [INFO, INFO]
