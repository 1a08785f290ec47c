"""PostgreSQL through PgBouncer in transaction pooling mode: the gateway, its management API, Celery's spend
flushing and the migrations all work with `?pgbouncer=true`, where each transaction may get another server
connection (no prepared statements, no server-side cursors, no session state)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest
from django.db import connection

from tests.conftest import MASTER_KEY, ROOT, GatewayProcess, free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
pytestmark = [pytest.mark.skipif(connection.vendor != "postgresql", reason="PgBouncer pools PostgreSQL"),
              pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def bouncer(django_db_setup: Any) -> Iterator[int]:
    """PgBouncer on a free port in front of the local PostgreSQL, two server connections per pool."""
    assert os.path.exists(PGBOUNCER), ".ci/run installs pgbouncer (apt-get install pgbouncer)"
    workdir = Path(tempfile.mkdtemp(prefix="tollgate-pgbouncer-"))
    workdir.chmod(0o755)  # it runs as `postgres`: it must read its files
    port = free_port()
    db = connection.settings_dict
    (workdir / "userlist.txt").write_text(f'"{db["USER"]}" ""\n')
    (workdir / "pgbouncer.ini").write_text(f"""[databases]
* = host={db["HOST"] or "127.0.0.1"} port={db["PORT"] or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
auth_type = trust
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 500
unix_socket_dir =
ignore_startup_parameters = extra_float_digits,options
""")
    for path in workdir.iterdir():
        path.chmod(0o644)
    as_postgres = ["-u", "postgres"] if os.geteuid() == 0 else []  # it refuses to run as root
    process = subprocess.Popen([PGBOUNCER, *as_postgres, str(workdir / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            psycopg.connect(bouncer_dsn(port), connect_timeout=1).close()
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline and process.poll() is None, "pgbouncer did not start"
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


def bouncer_dsn(port: int) -> str:
    db = connection.settings_dict
    return f"host=127.0.0.1 port={port} user={db['USER']} dbname={db['NAME']}"


def bouncer_url(port: int) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@127.0.0.1:{port}/{db['NAME']}?pgbouncer=true"  # Prisma's (LiteLLM's) spelling


def test_prepared_statements_break_under_transaction_pooling(bouncer: int) -> None:
    """The control: what `?pgbouncer=true` turns off is what fails here without it."""
    with psycopg.connect(bouncer_dsn(bouncer), prepare_threshold=0, autocommit=True) as first, \
            psycopg.connect(bouncer_dsn(bouncer), prepare_threshold=0, autocommit=True) as second, \
            pytest.raises(psycopg.errors.DuplicatePreparedStatement):
        for n in range(20):
            (first if n % 2 else second).execute("SELECT %s::int + 1", (n,)).fetchone()


def test_migrations_run_through_pgbouncer(bouncer: int) -> None:
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "DATABASE_URL": bouncer_url(bouncer)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_gateway_management_and_spend_flushing_through_pgbouncer(bouncer: int, upstream_model: Any,
                                                                  tmp_path: Path) -> None:
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("Celery flushes spend with Redis; embedded, the serve process does (covered elsewhere)")
    upstream_model("pooled-gpt")
    gateway = GatewayProcess(log_dir=tmp_path, extra_env={
        "DATABASE_URL": bouncer_url(bouncer), "TOLLGATE_RUN_CELERY": "1", "TOLLGATE_SPEND_FLUSH_EVERY": "0.5",
        "WORKERS": "2"})
    try:
        admin = httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)
        team = admin.post("/team/new", json={"team_id": "pooled-team", "max_budget": 100}).json()
        key = admin.post("/key/generate", json={"team_id": team["team_id"], "models": ["pooled-gpt"]}).json()["key"]
        client = openai.OpenAI(api_key=key, base_url=f"{gateway.url}/v1", max_retries=0)
        for _ in range(30):
            client.chat.completions.create(model="pooled-gpt", messages=[{"role": "user", "content": "hi"}])
        deadline = time.monotonic() + 30
        while (spend := admin.get("/key/info", params={"key": key}).json()["info"]["spend"]) <= 0 or \
                admin.get("/spend/logs", params={"api_key": key}).json().__len__() < 30:
            assert time.monotonic() < deadline, "spend did not arrive through PgBouncer"
            time.sleep(0.2)
        assert admin.get("/team/info", params={"team_id": "pooled-team"}).json()["team_info"]["spend"] > 0
        assert spend > 0
    finally:
        gateway.stop()
    log = gateway.log_path.read_text()
    assert "prepared statement" not in log and "cursor" not in log.lower(), log[-2000:]


def test_pgbouncer_flag_is_taken_out_of_the_connection_options() -> None:
    """LiteLLM's DATABASE_URL carries Prisma's `?pgbouncer=true`, which psycopg would refuse as an unknown option."""
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                             "d = settings.DATABASES['default']; print(d['OPTIONS'], d['DISABLE_SERVER_SIDE_CURSORS'])"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "gatewaysite.settings",
                                 "DATABASE_URL": "postgres://u@db:6432/tollgate?pgbouncer=true&sslmode=disable"})
    assert result.stdout.strip() == "{'sslmode': 'disable', 'prepare_threshold': None} True", result.stderr
