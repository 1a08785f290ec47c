"""OpenTelemetry traces, off unless asked for: one module-level flag the hot path reads, nothing else when off.

`TOLLGATE_OTEL=1` (or LiteLLM's `callbacks: ["otel"]` in config.yaml) turns tracing on; the standard OTel
variables say where spans go and how many: `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`. Spans leave
through a batch processor's thread (never on the request path), as OTLP over HTTP/protobuf. The SDK is imported
only when tracing is on (it is the `otel` extra), so a gateway without it pays neither import nor objects.

The gateway keeps its own TracerProvider (the process-global one is left to the host application); incoming
W3C `traceparent` headers are read and outgoing ones written with the API's configured propagator.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.trace import Span, Tracer

# Read by every hook (the lean ASGI handler is swapped for a traced one instead): False costs one global lookup.
ENABLED = False
# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: prompts and completions go into spans (off: never).
CAPTURE_CONTENT = False
SCOPE = "tollgate"
PROTOCOLS = ("http/protobuf",)
_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def env_true(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def otlp_processor(environ: Mapping[str, str]) -> SpanProcessor:
    """A batch processor exporting OTLP/HTTP protobuf where the OTEL_EXPORTER_OTLP_* variables say."""
    protocol = (environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip()
    if protocol not in PROTOCOLS:
        raise ImproperlyConfigured(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; Tollgate exports "
                                   f"traces as {', '.join(PROTOCOLS)}.")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:  # pragma: no cover - the extra is part of the test environment
        raise ImproperlyConfigured("Tracing needs the `otel` extra: pip install 'tollgate[otel]'.") from exc
    return BatchSpanProcessor(OTLPSpanExporter())  # the exporter reads endpoint, headers and timeout itself


def configure(*, processor: SpanProcessor | None = None, environ: Mapping[str, str] = os.environ) -> None:
    """Turn tracing on in this process: a provider named by OTEL_SERVICE_NAME (default "tollgate"), sampled by
    OTEL_TRACES_SAMPLER (default: follow the caller's decision, else sample), exporting through `processor`."""
    global ENABLED, CAPTURE_CONTENT, _provider, _tracer
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError as exc:  # pragma: no cover
        raise ImproperlyConfigured("Tracing needs the `otel` extra: pip install 'tollgate[otel]'.") from exc
    shutdown()
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": "tollgate"}
    _provider = TracerProvider(resource=Resource.create(attributes))  # sampler from OTEL_TRACES_SAMPLER(_ARG)
    _provider.add_span_processor(processor or otlp_processor(environ))
    _tracer = _provider.get_tracer(SCOPE)
    CAPTURE_CONTENT = env_true(environ, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    ENABLED = True


def shutdown() -> None:
    """Export what is queued and turn tracing off (the server's shutdown; tests between configurations)."""
    global ENABLED, _provider, _tracer
    ENABLED = False
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


async def stop() -> None:
    """The lifespan shutdown hook: spans still queued are exported before the process exits."""
    shutdown()


def tracer() -> Tracer:
    assert _tracer is not None, "tracing is not configured"
    return _tracer


def header_carrier(raw: list[tuple[bytes, bytes]] | Any) -> dict[str, str]:
    """ASGI header pairs as the propagator reads them (lower-case names)."""
    return {name.decode("latin1").lower(): value.decode("latin1") for name, value in raw}


@contextmanager
def server_span(*, method: str, path: str, scheme: str, headers: Mapping[str, str],
                extra: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """The span of one API request, current while it is served, joined to the caller's trace (`traceparent`).

    Named by the method until the route is known (HTTP semconv: `{method} {route}`)."""
    from opentelemetry import context, propagate, trace

    parent = propagate.extract(headers)
    span = tracer().start_span(method or "HTTP", context=parent, kind=trace.SpanKind.SERVER, attributes={
        "http.request.method": method, "url.path": path, "url.scheme": scheme, **(extra or {})})
    token = context.attach(trace.set_span_in_context(span, parent))
    try:
        yield span
    except BaseException as error:
        span.set_attribute("error.type", type(error).__qualname__)
        raise
    finally:
        context.detach(token)
        span.end()


def inject(headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` plus the current span's `traceparent` (and `tracestate`), for an upstream request."""
    from opentelemetry import propagate

    carrier = dict(headers)
    propagate.inject(carrier)
    return carrier


def current_ids() -> tuple[str, str] | None:
    """The current span's (trace id, span id) in hex, or None outside a recorded span."""
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def annotate(attributes: Mapping[str, Any]) -> None:
    """Set attributes (None values left out) on the current span, typically the request's."""
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({name: value for name, value in attributes.items() if value is not None})
