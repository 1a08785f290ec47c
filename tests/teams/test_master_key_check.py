"""In production mode a weak or well-known master key stops start-up with one clear line (LiteLLM does the same)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from apps.teams.checks import master_key_weakness

ROOT = Path(__file__).resolve().parents[2]
STRONG = f"sk-{secrets.token_urlsafe(32)}"


def run(command: str, master_key: str, *, production: bool = True) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TOLLGATE_PRODUCTION")}
    env = {**clean, "TOLLGATE_MASTER_KEY": master_key, "SECRET_KEY": secrets.token_urlsafe(48), "PORT": "1",
           **({"TOLLGATE_PRODUCTION": "1"} if production else {})}
    return subprocess.run([sys.executable, "manage.py", command], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("key", "reason"), [
    pytest.param("sk-1234", "is a well-known example key", id="litellm_docs_case"),
    pytest.param("sk-only-twenty-six-chars-x", "is shorter than 32 characters", id="short_case"),
    pytest.param("sk-" + "ab" * 20, "repeats too few characters to be unguessable", id="repeated_case"),
])
def test_a_weak_master_key_stops_production_start_up_naming_why(key: str, reason: str) -> None:
    assert master_key_weakness(key) == reason
    result = run("check", key)
    assert result.returncode != 0
    assert f"(teams.E001) TOLLGATE_MASTER_KEY (or general_settings.master_key) {reason}" in result.stderr
    assert key not in result.stderr + result.stdout


def test_serve_refuses_to_start_with_sk_1234_in_production() -> None:
    result = run("serve", "sk-1234")
    assert result.returncode != 0
    assert "teams.E001" in result.stderr


def test_a_random_master_key_passes_and_development_takes_any() -> None:
    assert master_key_weakness(STRONG) is None
    assert run("check", STRONG).returncode == 0
    assert run("check", "sk-1234", production=False).returncode == 0
