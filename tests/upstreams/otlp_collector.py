"""An OpenTelemetry collector's OTLP/HTTP traces receiver: `POST /v1/traces` with a protobuf
`ExportTraceServiceRequest`, decoded with opentelemetry-proto and kept as plain `CollectedSpan`s.

It answers as a collector does (an `ExportTraceServiceResponse`, `application/x-protobuf`), and refuses what a
collector refuses: another path (404) or a body that is not protobuf (400).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.upstreams.recording import Recorded, RecordingServer, Reply

KINDS = {Span.SPAN_KIND_SERVER: "server", Span.SPAN_KIND_CLIENT: "client", Span.SPAN_KIND_INTERNAL: "internal",
         Span.SPAN_KIND_PRODUCER: "producer", Span.SPAN_KIND_CONSUMER: "consumer"}


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


@dataclass(frozen=True, slots=True)
class CollectedSpan:
    """One received span: ids in lower-case hex ("" for no parent), attributes decoded."""

    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    status_code: int  # 0 unset, 1 ok, 2 error


class OTLPCollector(RecordingServer):
    """Receives spans; `spans` is everything received so far, `wait_for` polls it against a deadline."""

    def __init__(self) -> None:
        super().__init__(self.receive)
        self.lock = threading.Lock()
        self.spans: list[CollectedSpan] = []

    @property
    def endpoint(self) -> str:
        return self.url

    def receive(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != "/v1/traces":
            return Reply(404, {"Content-Type": "text/plain"}, b"not found")
        if request.headers.get("content-type") != "application/x-protobuf":
            return Reply(415, {"Content-Type": "text/plain"}, b"unsupported content type")
        export = ExportTraceServiceRequest()
        try:
            export.ParseFromString(request.body)
        except DecodeError:
            return Reply(400, {"Content-Type": "text/plain"}, b"bad protobuf")
        received = [
            CollectedSpan(name=span.name, kind=KINDS.get(span.kind, "unspecified"), trace_id=span.trace_id.hex(),
                          span_id=span.span_id.hex(), parent_span_id=span.parent_span_id.hex(),
                          attributes={a.key: any_value(a.value) for a in span.attributes},
                          resource={a.key: any_value(a.value) for a in resource_spans.resource.attributes},
                          scope=scope_spans.scope.name, status_code=span.status.code)
            for resource_spans in export.resource_spans for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans]
        with self.lock:
            self.spans.extend(received)
        body = ExportTraceServiceResponse().SerializeToString()
        return Reply(200, {"Content-Type": "application/x-protobuf"}, body)

    def wait_for(self, check: Callable[[list[CollectedSpan]], bool], *, deadline: float = 15.0) -> list[CollectedSpan]:
        """The spans received once `check` holds for them (or what arrived by the deadline)."""
        end = time.monotonic() + deadline
        while True:
            with self.lock:
                found = list(self.spans)
            if check(found) or time.monotonic() > end:
                return found
            time.sleep(0.05)
