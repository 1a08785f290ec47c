"""The Dockerfile and its entrypoint: linted, multi-stage, non-root, health-checked, and each role does its job."""
from __future__ import annotations

import os
import re
import sqlite3
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, database_url, free_port

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert path, f"{name} is installed by the test extras"
    return path


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions with their arguments, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run([tool("hadolint"), "--failure-threshold", "info", str(DOCKERFILE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The lint is a real gate: the mistakes it exists for fail it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n")
    assert subprocess.run([tool("hadolint"), str(bad)], capture_output=True).returncode != 0


def test_shellcheck_passes_the_entrypoint() -> None:
    result = subprocess.run([tool("shellcheck"), str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_non_root_and_health_checked() -> None:
    steps = instructions()
    defaults = dict(args.split("=", 1) for name, args in steps if name == "ARG" and "=" in args)
    stages = [re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], args) for name, args in steps if name == "FROM"]
    assert len(stages) >= 2 and " AS " in stages[0].upper(), "a build stage and a runtime stage"
    assert stages[0].split()[0] == stages[-1] == "python:3.11-slim-bookworm", "the official base unless told otherwise"
    assert all(":" in image and "latest" not in image for image in stages), "base images pinned by tag"
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1] not in ("root", "0"), "runs as a non-root user"
    health = " ".join(args for name, args in steps if name == "HEALTHCHECK")
    assert health.endswith('CMD ["tollgate-entrypoint", "healthcheck"]') and "/health/liveliness" in ENTRYPOINT.read_text()
    assert any(name == "COPY" and "--from=build" in args for name, args in steps), "only the build's output is kept"
    assert ("ENTRYPOINT", '["tollgate-entrypoint"]') in steps and ("CMD", '["web"]') in steps
    runtime = steps[[i for i, (name, _) in enumerate(steps) if name == "FROM"][-1]:]
    assert not any(name == "RUN" and re.search(r"\b(curl|wget|pip install)\b", args) for name, args in runtime), \
        "the runtime stage downloads nothing"


def test_price_table_ships_with_the_package() -> None:
    """The image downloads nothing at start: the price table is package data, copied in with apps/."""
    assert (ROOT / "apps" / "providers" / "prices.json").stat().st_size > 10_000
    assert '"apps.providers" = ["prices.json"]' in (ROOT / "pyproject.toml").read_text()


def run_entrypoint(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **env})


def test_migrate_role_fails_loudly_when_the_database_is_unreachable() -> None:
    result = run_entrypoint("migrate", env={"DATABASE_URL": "postgres://tollgate:hunter2@127.0.0.1:9/tollgate",
                                            "TOLLGATE_DB_WAIT_SECONDS": "1"}, timeout=60)
    assert result.returncode != 0
    assert "database postgresql 127.0.0.1:9/tollgate unreachable after 1 s" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_migrate_role_migrates_and_loads_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list:\n  - model_name: from-the-configmap\n    litellm_params: {model: mock/gpt-4o-mini}\n")
    result = run_entrypoint("migrate", env={"DATABASE_URL": database_url(), "TOLLGATE_CONFIG": str(config),
                                            "TOLLGATE_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is reachable" in result.stdout and "1 created" in result.stdout
    from apps.routing.models import Deployment

    assert Deployment.objects.filter(model_name="from-the-configmap").exists()


def test_other_commands_run_as_given() -> None:
    result = run_entrypoint("python", "-c", "print('as given')", env={})
    assert result.returncode == 0 and result.stdout.strip() == "as given"


def test_web_role_embedded_migrates_its_own_database_before_serving(tmp_path: Path) -> None:
    """No migration job serves a lone embedded container, so `web` migrates its SQLite and loads the config first
    (`serve --help` stands in for the server)."""
    config = tmp_path / "config.yaml"
    config.write_text("model_list:\n  - model_name: embedded\n    litellm_params: {model: mock/gpt-4o-mini}\n")
    result = run_entrypoint("web", "--help", env={"DATABASE_URL": "", "TOLLGATE_MASTER_KEY": "",
                                                  "TOLLGATE_VAR_DIR": str(tmp_path), "TOLLGATE_CONFIG": str(config)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 created" in result.stdout and "Master key (generated" in result.stdout and "usage:" in result.stdout
    with sqlite3.connect(tmp_path / "tollgate.sqlite3") as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'teams_logcallback'").fetchone()


def test_web_role_on_postgres_leaves_migrating_to_the_migrate_role() -> None:
    result = run_entrypoint("web", "--help", env={"DATABASE_URL": "postgres://tollgate:hunter2@127.0.0.1:9/tollgate"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "usage:" in result.stdout and "loaded" not in result.stdout and "Master key" not in result.stdout


@pytest.fixture
def liveliness_port() -> Iterator[int]:
    """A stand-in gateway answering /health/liveliness (anything else 404)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health/liveliness" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_healthcheck_passes_when_the_gateway_answers_liveliness(liveliness_port: int) -> None:
    assert run_entrypoint("healthcheck", env={"PORT": str(liveliness_port)}, timeout=30).returncode == 0


def test_healthcheck_fails_when_nothing_answers_on_port() -> None:
    assert run_entrypoint("healthcheck", env={"PORT": str(free_port())}, timeout=30).returncode != 0
