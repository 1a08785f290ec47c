"""`/metrics` against a live gateway: one scrape sums every worker, counts what was called, stays bounded."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MASTER_KEY, GatewayProcess, database_url, free_port
from tests.upstreams.openai import OpenAIUpstream, mock_answer
from tests.upstreams.recording import Recorded, Reply

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


@pytest.fixture
def families_gateway(upstream_model: Any, tmp_path: Path) -> Iterator[GatewayProcess]:
    """A priced model, a wildcard group, a model the upstream holds, a group of two the upstream fails, and a
    long cooldown; its own gateway."""
    from apps.routing.models import RouterSettings

    upstream_model("priced-gpt", input_cost_per_token=Decimal("0.001"), output_cost_per_token=Decimal("0.002"))
    upstream_model("wild/*", provider_model="*")
    upstream_model("held-gpt", provider_model="held-model")
    for _ in range(2):  # a group of one is never cooled down (as in LiteLLM)
        upstream_model("failing-gpt", provider_model="failing-model")
    RouterSettings.objects.filter(pk=1).update(settings={"allowed_fails": 1, "cooldown_time": 60})
    server = GatewayProcess(extra_env={"TOLLGATE_METRICS_WRITE_EVERY": "0.2"}, log_dir=tmp_path)
    yield server
    server.stop()


def chat(gateway: GatewayProcess, model: str, key: str = MASTER_KEY) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]})


def series_of(found: Samples, name: str) -> set[frozenset[tuple[str, str]]]:
    return {labels for n, labels in found if n == name}


def test_model_group_and_error_labels_stay_bounded(families_gateway: GatewayProcess, upstream: OpenAIUpstream) -> None:
    codes = iter(f"made_up_code_{uuid.uuid4().hex}" for _ in range(40))
    upstream.always_for("failing-model", lambda request: Reply.json(
        400, {"error": {"message": "no", "type": "odd_type", "code": next(codes)}}))
    names = [f"wild/rand-{uuid.uuid4().hex}" for _ in range(8)]
    assert [chat(families_gateway, name).status_code for name in names] == [200] * 8
    failures = [chat(families_gateway, "failing-gpt").status_code for _ in range(8)]
    assert set(failures) == {400}
    found = eventually(families_gateway, lambda s: value(s, "tollgate_llm_calls_total", model_group="wild/*") >= 8
                       and value(s, "tollgate_llm_calls_total", model_group="failing-gpt") >= 8)
    calls = series_of(found, "tollgate_llm_calls_total")
    assert {dict(labels)["model_group"] for labels in calls} == {"wild/*", "failing-gpt"}
    assert {dict(labels)["error"] for labels in calls} == {"", "other"}
    # 8 names and 8 codes: one series per deployment used (the wildcard, and one or both failing ones, as the
    # router's shuffle picked them for 8 calls)
    deployments = [dict(labels)["deployment"] for labels in calls]
    assert len(calls) == len(set(deployments)) <= 3, calls
    assert not [name for name in names if name in str(found)]


def test_spend_failures_per_key_and_cooldowns_are_counted(families_gateway: GatewayProcess,
                                                          upstream: OpenAIUpstream) -> None:
    upstream.always_for("failing-model", Reply.json(500, {"error": {"message": "down", "type": "server_error"}}))
    made = httpx.post(f"{families_gateway.url}/key/generate", headers=MASTER, timeout=10,
                      json={"key_alias": "spender", "models": ["priced-gpt", "failing-gpt"]}).json()
    key = made["key"]
    assert chat(families_gateway, "priced-gpt", key).status_code == 200
    # a 5xx cools its deployment down at once: the second call goes to the other, which cools down too
    assert [chat(families_gateway, "failing-gpt", key).status_code for _ in range(2)] == [502] * 2
    found = eventually(families_gateway, lambda s: value(s, "tollgate_key_calls_total", key="spender") >= 3
                       and value(s, "tollgate_deployment_cooling_down", model_group="failing-gpt") == 2)
    from apps.routing.models import Deployment

    priced = str(Deployment.objects.get(model_name="priced-gpt").pk)
    tokens = {kind: value(found, "tollgate_llm_tokens_total", deployment=priced, kind=kind)
              for kind in ("prompt", "completion")}
    usd = tokens["prompt"] * 0.001 + tokens["completion"] * 0.002  # the deployment's prices
    assert usd > 0
    assert value(found, "tollgate_spend_usd_total") == pytest.approx(usd)
    assert value(found, "tollgate_key_spend_usd_total", key="spender") == pytest.approx(usd)
    assert value(found, "tollgate_key_calls_total", key="spender", status="success") == 1
    assert value(found, "tollgate_key_calls_total", key="spender", status="failure") == 2
    assert value(found, "tollgate_llm_calls_total", model_group="failing-gpt", error="server_error") == 2
    assert value(found, "tollgate_deployment_cooling_down", model_group="failing-gpt") == 2
    assert value(found, "tollgate_deployment_cooling_down", model_group="priced-gpt") == 0


def test_in_flight_counts_a_call_while_it_is_served(families_gateway: GatewayProcess, upstream: OpenAIUpstream) -> None:
    gate = threading.Event()

    def held(request: Recorded) -> Reply:
        gate.wait(20)
        return mock_answer(request)

    upstream.always_for("held-model", held)
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(chat, families_gateway, "held-gpt")
        try:
            during = eventually(families_gateway, lambda s: value(s, "tollgate_in_flight") == 1)
        finally:
            gate.set()
        assert answer.result().status_code == 200
    assert value(during, "tollgate_in_flight") == 1
    after = eventually(families_gateway, lambda s: value(s, "tollgate_in_flight") == 0)
    assert value(after, "tollgate_in_flight") == 0


class Forwarder:
    """A TCP relay to PostgreSQL that the test can cut: the gateway's database goes away without touching it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.mark.skipif(not settings.REDIS_URL, reason="embedded mode has no Redis or server database to lose")
def test_backend_up_drops_to_zero_when_redis_or_the_database_goes_away(transactional_db: None,
                                                                      tmp_path: Path) -> None:
    from django.db import connection

    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = connection.settings_dict
    relay = Forwarder(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    url = database_url().replace(f":{db['PORT'] or 5432}/", f":{relay.port}/")
    try:
        gateway = GatewayProcess(log_dir=tmp_path, extra_env={
            "REDIS_URL": f"redis://127.0.0.1:{port}/0", "DATABASE_URL": url, "TOLLGATE_DB_CONN_MAX_AGE": "0",
            "TOLLGATE_REDIS_COMMAND_TIMEOUT": "1"})
        try:
            up = eventually(gateway, lambda s: value(s, "tollgate_backend_up") == 2)
            redis.kill()
            redis.wait()
            no_redis = eventually(gateway, lambda s: value(s, "tollgate_backend_up", backend="state_backend") == 0)
            relay.cut()
            no_db = eventually(gateway, lambda s: value(s, "tollgate_backend_up", backend="database") == 0)
        finally:
            gateway.stop()
    finally:
        redis.kill()
        redis.wait()
        relay.cut()
    assert value(up, "tollgate_backend_up", backend="state_backend") == 1
    assert value(up, "tollgate_backend_up", backend="database") == 1
    assert value(no_redis, "tollgate_backend_up", backend="state_backend") == 0
    assert value(no_redis, "tollgate_backend_up", backend="database") == 1
    assert value(no_db, "tollgate_backend_up", backend="database") == 0


def test_spend_not_yet_stored_is_a_gauge(upstream_model: Any, upstream: OpenAIUpstream, tmp_path: Path) -> None:
    """`tollgate_spend_events_buffered` counts the spend events waiting for the database (an operator alerts on it
    growing while the database is away): here a gateway that never flushes by itself."""
    from apps.core.state import state
    from apps.teams.spend import spend_flush

    upstream_model("buffered-gpt")
    backend = state()
    backend.spend_ack(backend.spend_pending())  # with Redis the buffer is shared with earlier tests
    server = GatewayProcess(extra_env={"TOLLGATE_SPEND_FLUSH_INTERVAL": "0"}, log_dir=tmp_path)
    try:
        assert ("tollgate_spend_events_buffered", frozenset()) in scrape(server)
        assert value(scrape(server), "tollgate_spend_events_buffered") == 0
        client = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{server.url}/v1", max_retries=0)
        for _ in range(3):
            client.chat.completions.create(model="buffered-gpt", messages=[{"role": "user", "content": "hi"}])
        waiting = eventually(server, lambda s: value(s, "tollgate_spend_events_buffered") == 3)
        assert value(waiting, "tollgate_spend_events_buffered") == 3
        if settings.REDIS_URL:  # the test can flush the shared buffer; embedded only the gateway's SIGTERM does
            assert spend_flush().stored == 3
            assert value(scrape(server), "tollgate_spend_events_buffered") == 0
    finally:
        server.stop()
