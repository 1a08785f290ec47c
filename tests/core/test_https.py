"""Production mode passes `check --deploy` with no warning: HSTS (subdomains, preload) and the HTTPS redirect of the
pages are on, while API clients, probes and scrapes over plain HTTP still get their answer, and each setting has an
env switch."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import GatewayProcess

ROOT = Path(__file__).resolve().parents[2]
STRONG = f"sk-{secrets.token_urlsafe(32)}"
PRODUCTION = {"TOLLGATE_PRODUCTION": "1", "TOLLGATE_MASTER_KEY": STRONG, "SECRET_KEY": secrets.token_urlsafe(48)}


def deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith(
        ("TOLLGATE_HSTS", "TOLLGATE_SSL", "TOLLGATE_PROXY"))}
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("database", [
    pytest.param({}, id="embedded_case"),
    pytest.param({"DATABASE_URL": "postgres://u@127.0.0.1:1/x", "REDIS_URL": "redis://127.0.0.1:1/0"}, id="postgres_case"),
])
def test_the_deploy_check_in_production_raises_no_warning_at_all(database: dict[str, str]) -> None:
    result = deploy_check(**PRODUCTION, **database)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced).", result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "security." not in result.stderr, result.stderr


def test_turning_the_redirect_off_is_named_by_the_deploy_check() -> None:
    result = deploy_check(**PRODUCTION, TOLLGATE_SSL_REDIRECT="0", TOLLGATE_HSTS_PRELOAD="0")
    output = result.stdout + result.stderr
    assert "security.W008" in output and "security.W021" in output and "security.W005" not in output, output


@pytest.mark.django_db(transaction=True)
def test_pages_redirect_to_https_while_probes_and_scrapes_over_http_are_answered(tmp_path: Path) -> None:
    gateway = GatewayProcess(extra_env=PRODUCTION, log_dir=tmp_path)
    try:
        get = lambda path, **headers: httpx.get(f"{gateway.url}{path}", headers=headers, timeout=30)  # noqa: E731
        admin = get("/admin/")
        behind_tls = get("/admin/", **{"X-Forwarded-Proto": "https"})
        probes = {path: get(path).status_code for path in ("/health/liveliness", "/health/readiness")}
        scrape = get("/metrics", Authorization=f"Bearer {STRONG}")
        dashboard = get("/dashboard/")
        # A LiteLLM management script in the cluster calls over plain HTTP and follows no redirect of a POST.
        api = {path: httpx.post(f"{gateway.url}{path}", json=body, timeout=30,
                                headers={"Authorization": f"Bearer {STRONG}"}).status_code
               for path, body in (("/key/generate", {"key_alias": "over-http"}), ("/team/new", {"team_alias": "t"}))}
        listed = get("/key/list", Authorization=f"Bearer {STRONG}")
    finally:
        gateway.stop()
    assert admin.status_code == 301 and admin.headers["location"] == f"https://127.0.0.1:{gateway.port}/admin/"
    assert behind_tls.status_code == 302 and "/login/" in behind_tls.headers["location"]
    assert "includeSubDomains; preload" in behind_tls.headers["strict-transport-security"]
    assert probes == {"/health/liveliness": 200, "/health/readiness": 200}
    assert scrape.status_code == 200 and "tollgate_" in scrape.text
    assert dashboard.status_code == 301 and dashboard.headers["location"].startswith("https://")
    assert api == {"/key/generate": 200, "/team/new": 200} and listed.status_code == 200, (api, listed.text)


@pytest.mark.django_db(transaction=True)
def test_the_redirect_can_be_turned_off_for_plain_http_deployments(tmp_path: Path) -> None:
    gateway = GatewayProcess(extra_env={**PRODUCTION, "TOLLGATE_SSL_REDIRECT": "0"}, log_dir=tmp_path)
    try:
        admin = httpx.get(f"{gateway.url}/admin/", timeout=30)
    finally:
        gateway.stop()
    assert admin.status_code == 302 and "/login/" in admin.headers["location"]
