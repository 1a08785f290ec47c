"""Traces from a live gateway: the openai SDK calls with a `traceparent`, spans reach a mock OTLP/HTTP collector."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.otlp_collector import CollectedSpan, OTLPCollector

MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
COLLECTOR_TOKEN = "collector-token-for-tests"
CHAT_TRACE, CHAT_PARENT = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
STREAM_TRACE, STREAM_PARENT = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"


@pytest.fixture
def collector() -> Iterator[OTLPCollector]:
    with OTLPCollector() as server:
        yield server


@pytest.fixture
def traced_gateway(upstream_model: Any, collector: OTLPCollector, tmp_path: Path) -> Iterator[GatewayProcess]:
    upstream_model("traced-gpt")
    server = GatewayProcess(log_dir=tmp_path, extra_env={
        "TOLLGATE_OTEL": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_SERVICE_NAME": "tollgate-e2e",
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-collector-token={COLLECTOR_TOKEN}", "OTEL_BSP_SCHEDULE_DELAY": "100"})
    yield server
    server.stop()


def in_trace(spans: list[CollectedSpan], trace_id: str, kind: str) -> list[CollectedSpan]:
    return [span for span in spans if span.trace_id == trace_id and span.kind == kind]


def both_calls_traced(spans: list[CollectedSpan]) -> bool:
    return all(in_trace(spans, trace, kind) for trace in (CHAT_TRACE, STREAM_TRACE) for kind in ("server", "client"))


def test_calls_are_traced_into_the_callers_trace_with_genai_attributes(
        traced_gateway: GatewayProcess, collector: OTLPCollector, upstream: OpenAIUpstream) -> None:
    team = httpx.post(f"{traced_gateway.url}/team/new", headers=MASTER, timeout=10, json={"team_alias": "observers"})
    assert team.status_code == 200, team.text
    team_id = team.json()["team_id"]
    created = httpx.post(f"{traced_gateway.url}/key/generate", headers=MASTER, timeout=10,
                         json={"key_alias": "tracing-bot", "team_id": team_id, "models": ["traced-gpt"]})
    assert created.status_code == 200, created.text
    key = created.json()["key"]
    client = openai.OpenAI(api_key=key, base_url=f"{traced_gateway.url}/v1", max_retries=0)

    answer = client.chat.completions.create(
        model="traced-gpt", messages=[{"role": "user", "content": "trace me"}], temperature=0.5, max_tokens=40,
        extra_headers={"traceparent": f"00-{CHAT_TRACE}-{CHAT_PARENT}-01"})
    streamed = list(client.chat.completions.create(
        model="traced-gpt", messages=[{"role": "user", "content": "stream me"}], stream=True,
        extra_headers={"traceparent": f"00-{STREAM_TRACE}-{STREAM_PARENT}-01"}))
    assert streamed and answer.choices[0].message.content and answer.usage is not None

    spans = collector.wait_for(both_calls_traced)
    assert both_calls_traced(spans), spans
    [server] = in_trace(spans, CHAT_TRACE, "server")
    [attempt] = in_trace(spans, CHAT_TRACE, "client")
    assert (server.name, server.parent_span_id) == ("POST /v1/chat/completions", CHAT_PARENT)
    assert attempt.parent_span_id == server.span_id
    assert server.resource["service.name"] == "tollgate-e2e" and server.scope == "tollgate"
    assert {k: server.attributes[k] for k in ("http.request.method", "http.route", "http.response.status_code",
                                              "tollgate.key.alias", "tollgate.team.id", "tollgate.call.status")} == {
        "http.request.method": "POST", "http.route": "/v1/chat/completions", "http.response.status_code": 200,
        "tollgate.key.alias": "tracing-bot", "tollgate.team.id": team_id, "tollgate.call.status": "success"}
    assert server.attributes["tollgate.cost_usd"] > 0
    assert len(server.attributes["tollgate.key.hash_prefix"]) == 12

    assert attempt.name == "chat gpt-4o-2024-08-06"
    found = attempt.attributes
    assert {k: found[k] for k in ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
                                  "gen_ai.request.temperature", "gen_ai.request.max_tokens",
                                  "gen_ai.response.id", "gen_ai.response.finish_reasons",
                                  "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "server.address")} == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-2024-08-06", "gen_ai.request.temperature": 0.5,
        "gen_ai.request.max_tokens": 40, "gen_ai.response.id": answer.id, "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": answer.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": answer.usage.completion_tokens, "server.address": "127.0.0.1"}
    chat_request = next(r for r in upstream.requests if b"trace me" in r.body)
    assert chat_request.headers["traceparent"].split("-")[1:3] == [CHAT_TRACE, attempt.span_id]

    [stream_server] = in_trace(spans, STREAM_TRACE, "server")
    [stream_attempt] = in_trace(spans, STREAM_TRACE, "client")
    assert stream_server.parent_span_id == STREAM_PARENT and stream_attempt.parent_span_id == stream_server.span_id
    assert stream_attempt.attributes["tollgate.stream"] is True
    assert stream_attempt.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert stream_attempt.attributes["gen_ai.usage.output_tokens"] > 0
    assert stream_attempt.attributes["gen_ai.response.id"] == streamed[0].id

    everything = json.dumps([vars_of(span) for span in spans]) + repr([r.body for r in collector.requests])
    for secret in (key, MASTER_KEY, "sk-upstream-secret"):
        assert secret not in everything
    assert "trace me" not in everything, "no prompt content without the opt-in"
    assert all(r.headers.get("x-collector-token") == COLLECTOR_TOKEN for r in collector.requests)


def vars_of(span: CollectedSpan) -> dict[str, Any]:
    return {"name": span.name, "attributes": span.attributes, "resource": span.resource}
