"""API paths take the lean handler; the admin keeps Django's full middleware stack."""
from __future__ import annotations

import httpx
import pytest

from tests.conftest import GatewayProcess


@pytest.mark.smoke
def test_admin_keeps_security_middleware(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.url}/admin/login/", follow_redirects=True)  # to the one login page
    assert response.status_code == 200 and response.url.path == "/accounts/login/"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "csrftoken" in response.cookies


def test_api_paths_skip_the_browser_middleware(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.url}/health/liveliness")
    assert response.status_code == 200
    assert "x-frame-options" not in response.headers
    assert "set-cookie" not in response.headers


def test_admin_post_without_csrf_token_is_still_refused(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/accounts/login/", data={"username": "a", "password": "b"})
    assert response.status_code == 403


def test_admin_assets_are_served(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.url}/static/admin/css/base.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert httpx.get(f"{gateway.url}/static/../settings.py").status_code == 404
