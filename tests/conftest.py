"""Shared fixtures: the gateway as a real server process, mock upstreams, and the example deployments."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from django.conf import settings
from django.db import connection

from apps.core.state import reset_state
from apps.routing.config import load_config_file
from apps.providers.registry import ADAPTERS
from apps.routing.snapshot import routing_table
from apps.teams.models import SpendLog
from apps.routing.search_table import search_table
from apps.teams.end_user_snapshot import end_user_cache
from apps.teams.master_key import master_key
from apps.teams.proxy_budget import proxy_scopes
from apps.teams.snapshot import key_cache
from tests.upstreams.openai import OpenAIUpstream

ROOT = Path(__file__).resolve().parent.parent

def _delete_instead_of_truncate() -> None:
    """Transactional tests empty every table after each test; on PostgreSQL Django does it with one TRUNCATE, which
    gives each table new files and took 0.3-0.9 s a test on a loaded 2-core machine, where a DELETE of the few
    rows a test leaves takes milliseconds. Foreign keys are deferred, so emptying every table in one transaction
    needs no order. Sequence resets keep Django's own statement."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self: DatabaseOperations, style: Any, tables: list[str], *, reset_sequences: bool = False,
                  allow_cascade: bool = False) -> list[str]:
        if reset_sequences:
            return truncate(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign, assignment]


_delete_instead_of_truncate()
MASTER_KEY = "sk-test-master-0123456789"
EXAMPLE_CONFIG = ROOT / "examples" / "config.yaml"
# How long the processes `serve` started (server workers, Celery) may take to exit after it (see lifeline.py).
LEFTOVER_GRACE_SECONDS = 15


@pytest.fixture(autouse=True, scope="session")
def gateway_settings() -> None:
    """Fixed master key, and snapshots re-checked on every call so a test sees its own writes."""
    settings.TOLLGATE_MASTER_KEY = MASTER_KEY
    settings.TOLLGATE_SNAPSHOT_TTL = 0.0
    master_key.cache_clear()
    reset_state()
    if settings.REDIS_URL:  # one server, Sentinel or Cluster (every primary)
        from apps.core.state.topology import parse_topology, sync_client

        sync_client(parse_topology(settings.REDIS_URL)).flushdb()


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    routing_table.clear()
    search_table.clear()
    key_cache.clear()
    proxy_scopes.clear()
    end_user_cache.clear()


def database_url() -> str:
    """A URL for the test database the test run created."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """`manage.py serve` in a subprocess on a free port, under TOLLGATE_SERVER from the test run's environment
    (`TOLLGATE_SERVER=granian pytest` runs every gateway test under granian)."""

    def __init__(self, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = (), log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url(), "TOLLGATE_MASTER_KEY": MASTER_KEY,
               "TOLLGATE_SNAPSHOT_TTL": "0", "WORKERS": "1", "PORT": str(self.port), "TOLLGATE_RUN_CELERY": "0",
               # Embedded, spend waits in this process's memory: flush it often. With Redis the tests flush.
               "TOLLGATE_SPEND_FLUSH_INTERVAL": "0" if settings.REDIS_URL else "0.2"}
        if settings.REDIS_URL:
            env["REDIS_URL"] = settings.REDIS_URL
        env.update(extra_env or {})
        self.env = env
        self.log_path = log_dir / f"gateway-{self.port}.log"
        self._log = self.log_path.open("wb")
        # Its own process group: stop() finds whatever it started there, even after that is orphaned.
        self.process = subprocess.Popen([sys.executable, "manage.py", "serve", "--host", "127.0.0.1", *args],
                                        cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        process_group=0)
        try:
            self._wait_ready()
        except BaseException:  # a gateway that never came up is not left running (it would hold the test database)
            self.process.kill()
            self.process.wait()
            self._log.close()
            stop_process_group(self.process.pid, grace=0)
            raise

    def flushes_itself(self) -> bool:
        """Embedded, spend waits in the gateway's own memory until its flush loop stores it."""
        return self.env["TOLLGATE_SPEND_FLUSH_INTERVAL"] != "0" and "REDIS_URL" not in self.env

    def wait_spend_stored(self, timeout: float = 30.0) -> bool:
        """Wait until this gateway's spend buffer is empty (its `tollgate_spend_events_buffered` gauge is 0)."""
        deadline = time.monotonic() + timeout
        while True:
            scraped = httpx.get(f"{self.url}/metrics", timeout=10,
                                headers={"Authorization": f"Bearer {self.env['TOLLGATE_MASTER_KEY']}"})
            if "\ntollgate_spend_events_buffered 0\n" in scraped.text:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    READY_SECONDS = 90.0  # how long start-up may take before the fixture gives up (a loaded 2-core CI machine took 30+)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"gateway did not start: {self.log_path.read_text()}")

    def stop(self) -> None:
        """SIGTERM and wait; then fail if a process it started is still alive LEFTOVER_GRACE_SECONDS on (killed)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        leftovers = stop_process_group(self.process.pid, grace=LEFTOVER_GRACE_SECONDS)
        assert not leftovers, f"processes outlived the gateway: {leftovers}"


def stop_leaving_no_spend(server: GatewayProcess, django_db_blocker: Any) -> None:
    """Stop a module's gateway and drop the spend rows it stored after its module's last test emptied the tables
    (calls still in flight then, and its flush on SIGTERM), which the next module's tests would count as theirs."""
    server.stop()
    with django_db_blocker.unblock():
        SpendLog.objects.all().delete()


def process_group(pgid: int) -> dict[int, str]:
    """The live processes (zombies left out) of process group `pgid`, with their command lines."""
    members = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
            fields = stat[stat.rfind(")") + 2:].split()  # state, ppid, pgrp, ...: the name may hold spaces
            if fields and fields[0] != "Z" and int(fields[2]) == pgid:
                members[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited meanwhile
    return members


def stop_process_group(pgid: int, *, grace: float) -> dict[int, str]:
    """Wait up to `grace` seconds for process group `pgid` to empty; SIGKILL and return whatever is left."""
    deadline = time.monotonic() + grace
    while (leftovers := process_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return leftovers


@pytest.fixture(scope="session")
def gateway(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("gateway"))
    yield server
    server.stop()


WEB_PREFIX = "/gateway"


@pytest.fixture(scope="module")
def prefixed_gateway(django_db_setup: Any, django_db_blocker: Any,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The gateway served under FORCE_SCRIPT_NAME=/gateway (the web side behind a path prefix)."""
    server = GatewayProcess(extra_env={"FORCE_SCRIPT_NAME": WEB_PREFIX}, log_dir=tmp_path_factory.mktemp("prefix"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def openai_upstream() -> Iterator[OpenAIUpstream]:
    with OpenAIUpstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(openai_upstream: OpenAIUpstream) -> OpenAIUpstream:
    openai_upstream.reset()
    return openai_upstream


@pytest.fixture
def example_models(transactional_db: None) -> None:
    """The example config's mock deployments, committed so the gateway process sees them."""
    from apps.routing.services import deployments_sync_from_config

    deployments_sync_from_config(config=load_config_file(EXAMPLE_CONFIG, set(ADAPTERS)))


@pytest.fixture
def sdk(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(api_key=MASTER_KEY, base_url=f"{gateway.url}/v1", max_retries=0, timeout=30)


@pytest.fixture
def http(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30) as client:
        yield client


@pytest.fixture
def upstream_model(transactional_db: None, upstream: OpenAIUpstream) -> Any:
    """A deployment `upstream-gpt` on the OpenAI adapter, pointed at the recording mock upstream."""
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment, RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})

    def make(model_name: str = "upstream-gpt", **fields: Any) -> Deployment:
        values: dict[str, Any] = {"provider": "openai", "provider_model": "gpt-4o-2024-08-06",
                                  "api_base": upstream.api_base, "api_key_encrypted": encrypt("sk-upstream-secret"),
                                  "timeout": 10}
        values.update(fields)
        return Deployment.objects.create(model_name=model_name, **values)

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that talk to a gateway process need the test database created, with committed writes."""
    for item in items:
        if "gateway" in getattr(item, "fixturenames", ()) and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(transaction=True))
