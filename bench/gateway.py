"""The gateway under test: database, config, `manage.py serve` and a Celery worker, as in production."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from apps.core.lifeline import PARENT_PID_ENV
from bench import procstat

ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "sk-bench-master-" + "0" * 24
MODEL = "bench-gpt"
RERANK_MODEL = "bench-rerank"  # a Cohere rerank deployment on the mock
SEARCH_TOOL = "bench-search"  # a Perplexity search tool on the mock upstream (/v1/search)
REALTIME_MODEL = "bench-realtime"  # openai/gpt-realtime on the mock's WebSocket (/v1/realtime), list-priced


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_call(method: str, url: str, *, key: str, body: object | None = None,
              timeout: float = 10.0) -> tuple[int, object, str]:
    """One management call (set-up only, never load): status, parsed JSON (or text), the `server` header."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, server = response.status, response.read(), response.headers.get("server", "")
    except urllib.error.HTTPError as exc:
        status, raw, server = exc.code, exc.read(), exc.headers.get("server", "")
    except (urllib.error.URLError, OSError):
        return 0, None, ""
    try:
        return status, json.loads(raw), server
    except ValueError:
        return status, raw.decode(errors="replace"), server


def http_json(method: str, url: str, *, key: str, body: object | None = None,
              timeout: float = 10.0) -> tuple[int, object]:
    """One management call (set-up only, never load): status and parsed JSON (or text)."""
    status, answer, _ = http_call(method, url, key=key, body=body, timeout=timeout)
    return status, answer


def config_yaml(*, upstream_port: int, deployments: int) -> str:
    """A LiteLLM-style config: `deployments` openai deployments of one model group on the mock upstream."""
    entries = []
    for index in range(deployments):
        entries.append(
            f"  - model_name: {MODEL}\n"
            "    litellm_params:\n"
            "      model: openai/gpt-4o-mini\n"
            f"      api_base: http://127.0.0.1:{upstream_port}/v1\n"
            "      api_key: sk-mock-upstream\n"
            "      rpm: 10000000\n"
            "      tpm: 2000000000\n"
            "      input_cost_per_token: 0.00000015\n"
            "      output_cost_per_token: 0.0000006\n"
            "    model_info:\n"
            f"      id: bench-deployment-{index}\n")
    entries.append(f"  - model_name: {REALTIME_MODEL}\n    litellm_params:\n      model: openai/gpt-realtime\n"
                   f"      api_base: http://127.0.0.1:{upstream_port}/v1\n      api_key: sk-mock-upstream\n")
    entries.append(f"  - model_name: {RERANK_MODEL}\n    litellm_params:\n      model: cohere/rerank-v3.5\n"
                   f"      api_base: http://127.0.0.1:{upstream_port}\n      api_key: sk-mock-upstream\n")
    return ("model_list:\n" + "".join(entries)
            + "search_tools:\n"
            + f"  - search_tool_name: {SEARCH_TOOL}\n    litellm_params:\n      search_provider: perplexity\n"
            + f"      api_base: http://127.0.0.1:{upstream_port}\n      api_key: sk-mock-upstream\n"
            + "router_settings:\n  routing_strategy: simple-shuffle\n  num_retries: 0\n"
            + "general_settings:\n  master_key: os.environ/TOLLGATE_MASTER_KEY\n")


@dataclass
class Gateway:
    """Set up and run the gateway; `pids` are every serve process (supervisor and workers).

    `server` is the ASGI server `serve` runs (TOLLGATE_SERVER; None: serve's default). `server_seen` is the
    one that answered, from the `server` response header. `extra_env` is set last, over the bench's own.
    """

    workdir: Path
    upstream_port: int
    workers: int
    embedded: bool
    server: str | None = None
    server_seen: str = ""
    deployments: int = 2
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    serve: subprocess.Popen[bytes] | None = None
    celery: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    tree: Path = ROOT  # the checkout whose manage.py runs (bench.ab: another commit's worktree)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def service_url(self, name: str) -> str:
        """DATABASE_URL or REDIS_URL as this gateway gets it: its own (bench.ab, in extra_env), else the bench's."""
        return self.extra_env.get(name) or os.environ[name]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        if not self.embedded:
            for name in ("DATABASE_URL", "REDIS_URL"):
                env[name] = self.service_url(name)
            # Production with Redis: Celery beat stores the buffered spend events (the `celery` column), so the
            # serve processes do no database work at all (their own flush loop is for embedded mode).
            env["TOLLGATE_SPEND_FLUSH_INTERVAL"] = "0"
        secret = self.workdir / "secret_key"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(48))
        env.update({"TOLLGATE_MASTER_KEY": MASTER_KEY, "TOLLGATE_CONFIG": str(self.workdir / "config.yaml"),
                    "TOLLGATE_VAR_DIR": str(self.workdir), "TOLLGATE_PRODUCTION": "1", "DEBUG": "0",
                    "TOLLGATE_SSL_REDIRECT": "0",  # the bench speaks plain HTTP to its management API too
                    "SECRET_KEY": secret.read_text(), "PORT": str(self.port), "WORKERS": str(self.workers),
                    "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
                    # The bench starts and meters its own Celery worker; serve must not start a second one.
                    "TOLLGATE_RUN_CELERY": "0"})
        if self.server:
            env["TOLLGATE_SERVER"] = self.server
        env.update(self.extra_env)
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=self.tree, env=self.env(), capture_output=True,
                              text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout.strip()

    def prepare(self) -> str:
        """Create and migrate the database, then load the generated config; returns load_config's line."""
        self.manage("ensure_database")
        (self.workdir / "config.yaml").write_text(config_yaml(upstream_port=self.upstream_port,
                                                              deployments=self.deployments))
        self.manage("migrate", "--noinput", "-v0")
        return self.manage("load_config")

    def start(self) -> None:
        log = (self.workdir / "serve.log").open("wb")
        self.serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--host", "127.0.0.1"], cwd=self.tree,
                                      env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(self.serve)
        if not self.embedded:
            celery_log = (self.workdir / "celery.log").open("wb")
            self.celery = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "gatewaysite", "worker", "-B", "--concurrency", "1",
                 "--loglevel", "WARNING", "--schedule", str(self.workdir / "celerybeat-schedule")],
                # Tied to this process (gatewaysite/celery.py): a bench that dies leaves no worker flushing behind it.
                cwd=self.tree, env={**self.env(), PARENT_PID_ENV: str(os.getpid())},
                stdout=celery_log, stderr=subprocess.STDOUT)
            self.processes.append(self.celery)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.serve is not None
            if self.serve.poll() is not None:
                raise RuntimeError(f"gateway exited:\n{(self.workdir / 'serve.log').read_text()[-3000:]}")
            status, _, self.server_seen = http_call("GET", f"{self.url}/health/liveliness", key=MASTER_KEY, timeout=2)
            if status == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError("gateway did not become ready in time")

    def pids(self) -> list[int]:
        """Every serve process: the server's supervisor and its workers."""
        assert self.serve is not None
        return procstat.descendants(self.serve.pid)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the supervisor's children but multiprocessing's resource tracker
        and Celery (uvicorn spawns its workers, granian forks them), or the root when uvicorn runs one worker."""
        assert self.serve is not None
        children = [p for p in self.pids() if procstat.parent_of(p) == self.serve.pid
                    and not any(other in procstat.cmdline(p) for other in ("resource_tracker", "celery"))]
        return children or [self.serve.pid]

    def celery_pids(self) -> list[int]:
        return procstat.descendants(self.celery.pid) if self.celery is not None else []

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def generate_key(gateway_url: str) -> tuple[str | None, str]:
    """A virtual key from `/key/generate` (LiteLLM shape), or None and why not."""
    models = [MODEL, RERANK_MODEL, SEARCH_TOOL, REALTIME_MODEL]
    body: dict[str, object] = {"models": models, "max_budget": 1_000_000.0,
                               "rpm_limit": 10_000_000, "tpm_limit": 2_000_000_000}
    status, answer = http_json("POST", f"{gateway_url}/key/generate", key=MASTER_KEY, body=body)
    if status in (400, 422):  # limits not supported yet: the plain LiteLLM body
        body = {"models": models, "max_budget": 1_000_000.0}
        status, answer = http_json("POST", f"{gateway_url}/key/generate", key=MASTER_KEY, body=body)
    if status == 200 and isinstance(answer, dict) and isinstance(answer.get("key"), str):
        return answer["key"], f"key from POST /key/generate {sorted(body)}"
    return None, f"POST /key/generate answered {status or 'no connection'}: metered rows not available"


BENCH_AGENT = "bench-agent"


def register_agent(gateway_url: str) -> tuple[bool, str]:
    """A hosted agent on the bench model (`POST /v1/agents`, LiteLLM's body) for the A2A rows."""
    body = {"agent_name": BENCH_AGENT, "agent_card_params": {"name": BENCH_AGENT, "description": "bench"},
            "litellm_params": {"model": MODEL, "system_prompt": "You are a helpful assistant."}}
    status, _ = http_json("POST", f"{gateway_url}/v1/agents", key=MASTER_KEY, body=body)
    if status == 200:
        return True, f"hosted agent {BENCH_AGENT} from POST /v1/agents"
    return False, f"POST /v1/agents answered {status or 'no connection'}: A2A rows not available"


def key_spend(gateway_url: str, key: str) -> float | None:
    """The key's spend counter as `/key/info` reports it (LiteLLM shape), when that endpoint exists."""
    status, answer = http_json("GET", f"{gateway_url}/key/info?key={key}", key=MASTER_KEY)
    if status != 200 or not isinstance(answer, dict):
        return None
    info = answer.get("info") if isinstance(answer.get("info"), dict) else answer
    spend = info.get("spend") if isinstance(info, dict) else None
    return float(spend) if isinstance(spend, (int, float, str)) and str(spend) else None


SPEND_COUNT = """
import hashlib, json
from django.db.models import Count, Sum
from apps.teams.models import SpendLog
rows = SpendLog.objects.filter(key_hash=hashlib.sha256({key!r}.encode()).hexdigest())
agg = rows.aggregate(n=Count("id"), cost=Sum("cost"))
ok = rows.filter(status="success").count()
print(json.dumps({{"rows": agg["n"], "success_rows": ok, "cost": float(agg["cost"] or 0)}}))
"""


def spend_backlog(gateway: Gateway) -> int | None:
    """Spend events waiting in Redis for Celery to store them; None when not known (embedded: in-process)."""
    if gateway.embedded:
        return None
    import redis

    from apps.core.state.redis import SPEND_BUFFER

    try:
        with redis.Redis.from_url(gateway.service_url("REDIS_URL"), socket_timeout=5) as client:
            return int(client.llen(SPEND_BUFFER))
    except redis.RedisError:
        return None


def wait_until_stored(backlog: Callable[[], int | None], *, timeout: float, poll: float = 0.2) -> float:
    """Wait while spend events wait to be stored (at most `timeout` seconds); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        waiting = backlog()
        if not waiting:
            break
        time.sleep(poll)
    return time.monotonic() - started


def spend_rows(gateway: Gateway, key: str) -> dict[str, float] | None:
    """Spend-log rows for `key` (count, successes, cost), or None when they cannot be read."""
    try:
        out = gateway.manage("shell", "-c", SPEND_COUNT.format(key=key))
        return json.loads(out.splitlines()[-1])
    except (RuntimeError, ValueError, IndexError):
        return None
