"""Three gateway processes and two Celery workers on one PostgreSQL and one Redis, calls spread over all of them:
rate limits, budgets, cooldowns and config changes hold across every replica, and every call is stored once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from apps.routing.models import RouterSettings
from apps.routing.stats_view import MAX_AGE
from apps.teams.models import SpendLog
from tests.conftest import MASTER_KEY, ROOT, GatewayProcess, database_url
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

pytestmark = [pytest.mark.skipif(not settings.REDIS_URL, reason="replicas share limits and budgets through Redis"),
              pytest.mark.django_db(transaction=True)]
MSG = [{"role": "user", "content": "hello"}]
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


def eventually(check: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, f"{what}: not within {deadline} s"
        time.sleep(0.1)


class CeleryWorker:
    """`celery worker` as its own process (the Deployment of the Helm chart); `beat` on one of them only."""

    def __init__(self, *, beat: bool, log_dir: Path, name: str, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL or "",
               "TOLLGATE_MASTER_KEY": MASTER_KEY, "TOLLGATE_SPEND_FLUSH_EVERY": "0.3", **(extra_env or {})}
        args = ["--beat", "--schedule", str(log_dir / f"{name}-beat")] if beat else []
        self.log = (log_dir / f"{name}.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "gatewaysite", "worker",
                                         "--concurrency", "1", "--hostname", f"{name}@%h", "--loglevel", "WARNING",
                                         *args], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def replicas(upstream_model: Any, tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    upstream_model("shared-gpt", provider_model="first", input_cost_per_token=Decimal("0.000001"))
    upstream_model("shared-gpt", provider_model="second", input_cost_per_token=Decimal("0.00001"))
    RouterSettings.objects.update_or_create(pk=1, defaults={"routing_strategy": "cost-based", "num_retries": 1,
                                                            "settings": {"cooldown_time": 60}})
    workers = [CeleryWorker(beat=index == 0, log_dir=tmp_path, name=f"worker{index}") for index in range(2)]
    gateways: list[GatewayProcess] = []
    try:
        gateways.extend(GatewayProcess(log_dir=tmp_path) for _ in range(3))
        yield gateways
    finally:
        for gateway in gateways:
            gateway.stop()
        for worker in workers:
            worker.stop()


def chat(url: str, key: str, **extra: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": "shared-gpt", "messages": MSG, **extra})


def new_key(gateway: GatewayProcess, **fields: Any) -> str:
    answer = httpx.post(f"{gateway.url}/key/generate", headers=MASTER, json=fields, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["key"])


def test_limits_budgets_cooldowns_and_config_hold_across_replicas(replicas: list[GatewayProcess],
                                                                  upstream: OpenAIUpstream) -> None:
    urls = [gateway.url for gateway in replicas]

    # A key's rpm limit is one limit, whichever replica a call reaches.
    limited = new_key(replicas[0], rpm_limit=9)
    statuses = [chat(url, limited).status_code for url, _ in zip(cycle(urls), range(15))]
    assert statuses.count(200) == 9 and statuses.count(429) == 6, statuses

    # A budget is never overspent by calls racing on every replica at once.
    budgeted = new_key(replicas[1], max_budget=0.0004)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda url: chat(url, budgeted, max_tokens=50), [urls[n % 3] for n in range(36)]))
    served = sum(a.status_code == 200 for a in answers)
    assert 0 < served < 36 and {a.status_code for a in answers} <= {200, 400, 429}
    eventually(lambda: SpendLog.objects.filter(key_hash=hashed(budgeted), status="success").count() == served,
               "every served call stored by the Celery workers")
    spent = sum(row.cost for row in SpendLog.objects.filter(key_hash=hashed(budgeted)))
    assert spent <= Decimal("0.0004"), spent

    # A cooldown one replica sets keeps the others off the deployment.
    upstream.reset()
    upstream.always_for("first", Reply.json(429, {"error": {"message": "slow down"}}))
    assert chat(urls[0], MASTER_KEY).status_code == 200
    assert upstream.models_called() == ["first", "second"]
    cooled_at = time.monotonic()
    for url in urls[1:]:  # a replica's view of shared stats is at most MAX_AGE old (apps/routing/stats_view.py)
        while True:
            upstream.reset()
            assert chat(url, MASTER_KEY).status_code == 200
            if upstream.models_called() == ["second"]:
                break
            assert time.monotonic() - cooled_at < MAX_AGE + 2, "the cooldown did not reach another replica"
        assert [chat(url, MASTER_KEY).status_code for _ in range(3)] == [200, 200, 200]
        assert upstream.models_called() == ["second"] * 4, "once seen, a cooldown holds on that replica"

    # A model added through one replica is served by every replica.
    added = httpx.post(f"{urls[2]}/model/new", headers=MASTER, timeout=30, json={
        "model_name": "added-later", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": upstream.api_base,
                                                        "api_key": "sk-upstream-secret"}})
    assert added.status_code == 200, added.text
    for url in urls:
        eventually(lambda url=url: httpx.post(f"{url}/v1/chat/completions", headers=MASTER, timeout=30,  # type: ignore[misc]
                                              json={"model": "added-later", "messages": MSG}).status_code == 200,
                   f"the new model on {url}")


def test_every_call_is_stored_once_by_two_flushing_workers(replicas: list[GatewayProcess]) -> None:
    key = new_key(replicas[0])
    urls = [gateway.url for gateway in replicas]
    with ThreadPoolExecutor(max_workers=9) as pool:
        answers = list(pool.map(lambda url: chat(url, key), [urls[n % 3] for n in range(90)]))
    assert all(a.status_code == 200 for a in answers)
    ids = {a.headers["x-request-id"] for a in answers}
    eventually(lambda: SpendLog.objects.filter(key_hash=hashed(key)).count() >= 90, "90 spend rows")
    rows = list(SpendLog.objects.filter(key_hash=hashed(key)).values_list("request_id", flat=True))
    assert sorted(rows) == sorted(ids), "each call once: none lost, none twice"


def hashed(key: str) -> str:
    from apps.teams.auth import hash_key

    return hash_key(key)
