"""Liveness always answers; readiness checks the database and the state backend and names what failed."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess


@pytest.mark.smoke
def test_liveliness_and_readiness(gateway: GatewayProcess) -> None:
    assert httpx.get(f"{gateway.url}/health/liveliness").json() == {"status": "alive"}
    ready = httpx.get(f"{gateway.url}/health/readiness")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "healthy", "database": "ok", "state_backend": "ok"}


def test_readiness_names_the_unreachable_redis(gateway: GatewayProcess, tmp_path: Path) -> None:
    broken = GatewayProcess(extra_env={"REDIS_URL": "redis://127.0.0.1:1/0"}, log_dir=tmp_path)
    try:
        ready = httpx.get(f"{broken.url}/health/readiness", timeout=10)
        call = httpx.post(f"{broken.url}/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                          json={"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
    finally:
        broken.stop()
    # A call answers at once with an OpenAI-shaped error saying to retry, never a hang, a 500 or an HTML page.
    assert (call.status_code, call.json()["error"]["code"]) == (503, "state_backend_unavailable"), call.text
    assert call.headers["retry-after"]
    assert ready.status_code == 503
    body = ready.json()
    assert (body["status"], body["database"]) == ("unhealthy", "ok")
    assert body["state_backend"].startswith("error: ")
