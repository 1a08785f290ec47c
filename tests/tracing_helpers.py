"""Tracing turned on for one test, its spans kept in the SDK's in-memory exporter."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.core import tracing


@contextmanager
def traced(environ: Mapping[str, str] | None = None) -> Iterator[InMemorySpanExporter]:
    """Tracing on (spans exported as they end), then off again."""
    exporter = InMemorySpanExporter()
    tracing.configure(processor=SimpleSpanProcessor(exporter), environ=environ or {})
    try:
        yield exporter
    finally:
        tracing.shutdown()


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes, sequences as lists (the SDK keeps them as tuples)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()}
