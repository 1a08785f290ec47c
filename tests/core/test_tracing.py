"""Tracing's switch, the request span of the traced API handler, and trace ids in the JSON logs."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.core.exceptions import ImproperlyConfigured
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from apps.core import tracing
from apps.core.asgi_lean import LeanASGIHandler
from apps.core.logs import JsonFormatter, RedactSecrets
from apps.core.tracing_asgi import TracedASGIHandler, api_handler
from tests.core.test_lean_handler import CHAT, FakeServer, scope
from tests.tracing_helpers import attributes, traced

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with traced() as exporter:
        yield exporter


def test_tracing_is_off_by_default_and_the_plain_handler_serves() -> None:
    assert tracing.ENABLED is False
    assert type(api_handler()) is LeanASGIHandler


def test_the_traced_handler_is_chosen_once_tracing_is_on(spans: InMemorySpanExporter) -> None:
    assert type(api_handler()) is TracedASGIHandler


@pytest.mark.usefixtures("example_models")
async def test_a_request_span_joins_the_callers_trace(spans: InMemorySpanExporter) -> None:
    server = FakeServer([CHAT])
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    send: Any = server.send
    await TracedASGIHandler()(scope(headers={"traceparent": traceparent}), server.receive, send)
    assert server.status == 200, server.body

    [request] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert request.name == "POST /v1/chat/completions"
    assert f"{request.context.trace_id:032x}" == CALLER_TRACE
    assert request.parent is not None and f"{request.parent.span_id:016x}" == CALLER_SPAN
    assert request.parent.is_remote
    found = attributes(request)
    assert {k: found[k] for k in ("http.request.method", "http.route", "http.response.status_code", "url.path",
                                  "client.address", "network.protocol.version")} == {
        "http.request.method": "POST", "http.route": "/v1/chat/completions", "http.response.status_code": 200,
        "url.path": "/v1/chat/completions", "client.address": "127.0.0.1", "network.protocol.version": "1.1"}
    assert found["tollgate.call.status"] == "success" and found["tollgate.model_group"] == "gpt-4o-mini"
    assert found["tollgate.cost_usd"] >= 0 and found["tollgate.request_id"]
    assert "tollgate.key.alias" not in found, "the master key has no key record"
    [attempt] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert attempt.parent is not None and attempt.parent.span_id == request.context.span_id
    assert attributes(attempt)["gen_ai.provider.name"] == "mock"
    assert attributes(attempt)["gen_ai.usage.output_tokens"] > 0


@pytest.mark.usefixtures("example_models")
async def test_an_unmatched_path_is_named_by_its_method_only(spans: InMemorySpanExporter) -> None:
    server = FakeServer([b"{}"])
    send: Any = server.send
    await TracedASGIHandler()(scope("/v1/no-such-thing"), server.receive, send)
    assert server.status == 404
    [request] = spans.get_finished_spans()
    assert request.name == "POST" and "http.route" not in attributes(request)
    assert attributes(request)["http.response.status_code"] == 404
    assert request.status.status_code == StatusCode.UNSET, "a 4xx is the client's error, not the server span's"


def test_json_logs_carry_the_trace_id_inside_a_span(spans: InMemorySpanExporter) -> None:
    formatter, redact = JsonFormatter(), RedactSecrets()

    def logged() -> dict[str, str]:
        record = logging.LogRecord("tollgate", logging.INFO, __file__, 1, "hello", None, None)
        redact.filter(record)
        return orjson.loads(formatter.format(record))

    assert "trace_id" not in logged(), "outside a span"
    with tracing.server_span(method="GET", path="/", scheme="http", headers={}) as span:
        entry = logged()
    assert (entry["trace_id"], entry["span_id"]) == (f"{span.get_span_context().trace_id:032x}",
                                                     f"{span.get_span_context().span_id:016x}")


def test_json_logs_have_no_trace_id_when_tracing_is_off() -> None:
    record = logging.LogRecord("tollgate", logging.INFO, __file__, 1, "hello", None, None)
    RedactSecrets().filter(record)
    assert set(orjson.loads(JsonFormatter().format(record))) == {"time", "level", "logger", "message", "request_id"}


def test_only_http_protobuf_export_is_accepted() -> None:
    for protocol in ("grpc", "http/json"):
        with pytest.raises(ImproperlyConfigured, match="not supported"):
            tracing.otlp_processor({"OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
    processor = tracing.otlp_processor({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
                                        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})  # the traces' own setting wins
    assert isinstance(processor, BatchSpanProcessor)
    processor.shutdown()


def test_the_service_is_named_tollgate_unless_the_environment_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    with traced():
        assert tracing._provider is not None
        assert tracing._provider.resource.attributes["service.name"] == "tollgate"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-eu")
    with traced({"OTEL_SERVICE_NAME": "gateway-eu"}):
        assert tracing._provider is not None
        assert tracing._provider.resource.attributes["service.name"] == "gateway-eu"
    assert tracing.ENABLED is False


def test_a_caller_that_does_not_sample_is_followed(spans: InMemorySpanExporter) -> None:
    with tracing.server_span(method="GET", path="/", scheme="http",
                             headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"}) as span:
        assert not span.is_recording()
        version, trace_id, _, flags = tracing.inject({})["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", CALLER_TRACE, "00"), "the trace and its decision go on upstream"
    assert spans.get_finished_spans() == ()


def test_the_sampler_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    with traced() as exporter:
        with tracing.server_span(method="GET", path="/", scheme="http", headers={}):
            assert tracing.current_ids() is not None  # ids are still made (and propagated), nothing is recorded
    assert exporter.get_finished_spans() == ()
