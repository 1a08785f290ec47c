"""`/metrics` against a live gateway: one scrape sums every worker, counts what was called, stays bounded."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MASTER_KEY, GatewayProcess, free_port
from tests.upstreams.openai import OpenAIUpstream

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture
def metered_gateway(upstream_model: Any, tmp_path: Path) -> Iterator[GatewayProcess]:
    """Its own gateway (its numbers start at zero): two workers where state is shared, one embedded."""
    upstream_model("metered-gpt")
    upstream_model("unreachable-gpt", api_base=f"http://127.0.0.1:{free_port()}/v1")
    workers = "2" if settings.REDIS_URL else "1"
    server = GatewayProcess(extra_env={"WORKERS": workers, "TOLLGATE_METRICS_WRITE_EVERY": "0.2"}, log_dir=tmp_path)
    yield server
    server.stop()


def scrape(gateway: GatewayProcess) -> Samples:
    answer = httpx.get(f"{gateway.url}/metrics", headers=MASTER, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum over series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, series), v in found.items() if n == name and wanted <= series)


def eventually(gateway: GatewayProcess, check: Callable[[Samples], bool], deadline: float = 10) -> Samples:
    end = time.monotonic() + deadline
    while True:
        found = scrape(gateway)
        if check(found) or time.monotonic() > end:
            return found
        time.sleep(0.1)


def test_one_scrape_counts_every_workers_calls(metered_gateway: GatewayProcess, upstream: OpenAIUpstream) -> None:
    created = httpx.post(f"{metered_gateway.url}/key/generate", headers=MASTER, timeout=10,
                         json={"key_alias": "team-a-bot", "models": ["metered-gpt", "unreachable-gpt"]})
    assert created.status_code == 200, created.text
    client = openai.OpenAI(api_key=created.json()["key"], base_url=f"{metered_gateway.url}/v1", max_retries=0)
    calls = 12
    for _ in range(calls):  # fresh connections: the kernel spreads them over the workers
        client.with_options(http_client=httpx.Client()).chat.completions.create(
            model="metered-gpt", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="unreachable-gpt", messages=[{"role": "user", "content": "hi"}])

    route = "v1/chat/completions"
    found = eventually(metered_gateway, lambda s: value(s, "tollgate_http_requests_total", route=route) >= calls + 1)
    assert value(found, "tollgate_http_requests_total", route=route, method="POST", status="200") == calls
    assert value(found, "tollgate_http_request_duration_seconds_count", route=route) == calls + 1
    assert value(found, "tollgate_overhead_duration_seconds_count", route=route) == calls + 1  # the failed one too
    assert value(found, "tollgate_llm_calls_total", model_group="metered-gpt", status="success") == calls
    assert value(found, "tollgate_llm_calls_total", model_group="unreachable-gpt", status="failure") >= 1
    assert value(found, "tollgate_llm_tokens_total", kind="prompt") > 0
    assert value(found, "tollgate_key_calls_total", key="team-a-bot", status="success") == calls
    assert value(found, "tollgate_upstream_duration_seconds_count") >= calls + 1
    assert value(found, "tollgate_backend_up", backend="database") == 1
    assert value(found, "tollgate_backend_up", backend="state_backend") == 1
    assert value(found, "tollgate_workers") == (2 if settings.REDIS_URL else 1)
    assert ("tollgate_in_flight", frozenset()) in found
    assert created.json()["key"] not in str(found), "a key's secret never appears in metrics"


def test_label_values_do_not_grow_with_traffic(metered_gateway: GatewayProcess) -> None:
    for _ in range(20):  # unknown paths and fresh request ids: one series between them
        httpx.get(f"{metered_gateway.url}/v1/{uuid.uuid4().hex}", headers={**MASTER, "x-request-id": uuid.uuid4().hex})
    found = eventually(metered_gateway, lambda s: value(s, "tollgate_http_requests_total", route="unmatched") >= 20)
    assert value(found, "tollgate_http_requests_total", route="unmatched", status="404") == 20
    series = {labels for name, labels in found if name == "tollgate_http_requests_total"}
    assert len(series) <= 3, series


def test_metrics_need_the_master_key(metered_gateway: GatewayProcess) -> None:
    anonymous = httpx.get(f"{metered_gateway.url}/metrics", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"]
