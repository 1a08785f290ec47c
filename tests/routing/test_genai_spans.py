"""GenAI client spans around real upstream attempts: the router and transport against the recording OpenAI mock."""
from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from apps.core import tracing
from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, Message, Target, UpstreamError
from apps.providers.registry import adapter_for
from apps.routing.config import tracing_requested
from apps.routing.parsing import CallOptions
from apps.routing.router import route
from apps.routing.snapshot import DeploymentRecord
from tests.routing.helpers import table
from tests.tracing_helpers import attributes, traced
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

UPSTREAM_KEY = "sk-upstream-secret-0123456789"
MESSAGES: list[Message] = [{"role": "user", "content": "hello there"}]


class CallType:
    """An observer naming the call type, as the meter does (failures are the meter's business, not tested here)."""

    def __init__(self, call_type: str) -> None:
        self.call_type = call_type

    def attempt_failed(self, deployment: Any, error: UpstreamError, elapsed: float) -> None:
        return None


def record(name: str, upstream: OpenAIUpstream, *, group: str = "g", model: str = "gpt-4o-2024-08-06",
           provider: str = "openai") -> DeploymentRecord:
    target = Target(provider=provider, model=model, api_base=upstream.api_base, api_key=UPSTREAM_KEY,
                    deployment_id=name, model_alias=group)
    return DeploymentRecord(id=name, model_name=group, target=target, model_id=f"{name}-public")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with traced() as exporter:
        yield exporter


async def no_sleep(seconds: float) -> None:
    return None


async def chat(deployment: DeploymentRecord, call: ChatCall) -> Any:
    return await transport.send_chat(adapter_for(deployment.target.provider), call, deployment.target)


async def served_in_request(groups: dict[str, list[DeploymentRecord]], call: ChatCall | EmbeddingCall, attempt: Any,
                            *, call_type: str = "chat", **settings: Any) -> Any:
    """Route `call` inside a request span, as the traced API handler would."""
    with tracing.server_span(method="POST", path="/v1/chat/completions", scheme="http", headers={}):
        return await route(table(groups, **settings), call.model, CallOptions(), lambda d: attempt(d, call),
                           CallType(call_type), call=call, rng=random.Random(1), sleep=no_sleep)


def client_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [span for span in exporter.get_finished_spans() if span.kind == SpanKind.CLIENT]


def assert_no_secret(exporter: InMemorySpanExporter) -> None:
    dumped = json.dumps([dict(span.attributes or {}) for span in exporter.get_finished_spans()], default=str)
    assert UPSTREAM_KEY not in dumped and "sk-upstream" not in dumped


async def test_a_chat_attempt_is_a_client_span_with_the_genai_attributes(
        spans: InMemorySpanExporter, upstream: OpenAIUpstream) -> None:
    call = ChatCall(model="g", messages=MESSAGES, params={"temperature": 0.2, "top_p": 0.9, "max_tokens": 50})
    served = await served_in_request({"g": [record("a", upstream)]}, call, chat)

    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    [span] = client_spans(spans)
    assert span.name == "chat gpt-4o-2024-08-06"
    assert span.parent is not None and span.parent.span_id == server.context.span_id
    assert span.context.trace_id == server.context.trace_id
    body = served.value.body
    assert attributes(span) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-2024-08-06", "gen_ai.request.temperature": 0.2, "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 50, "gen_ai.response.id": body["id"], "gen_ai.response.model": body["model"],
        "gen_ai.response.finish_reasons": ["stop"], "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": served.value.usage.completion_tokens,
        "server.address": "127.0.0.1", "server.port": urlsplit(upstream.url).port, "tollgate.deployment.id": "a-public",
        "tollgate.model_group": "g", "tollgate.stream": False}
    assert body["id"].startswith("chatcmpl") and served.value.usage.completion_tokens > 0
    assert span.status.status_code == StatusCode.UNSET
    [sent] = upstream.requests
    version, trace_id, parent_id, flags = sent.headers["traceparent"].split("-")
    assert (version, trace_id, parent_id) == ("00", f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}")
    assert int(flags, 16) & 1 == 1, "sampled"
    assert_no_secret(spans)


async def test_a_streamed_attempt_ends_its_span_with_the_final_usage(
        spans: InMemorySpanExporter, upstream: OpenAIUpstream) -> None:
    call = ChatCall(model="g", messages=MESSAGES, stream=True)

    async def open_stream(deployment: DeploymentRecord) -> Any:
        return await transport.open_chat_stream(adapter_for("openai"), call, deployment.target)

    with tracing.server_span(method="POST", path="/v1/chat/completions", scheme="http", headers={}):
        served = await route(table({"g": [record("a", upstream)]}), "g", CallOptions(), open_stream,
                             CallType("chat"), call=call)
        assert client_spans(spans) == [], "a stream's span stays open while it is read"
        async with aclosing(served.value.chunks()) as chunks:
            bodies = [chunk.body async for chunk in chunks]
    [span] = client_spans(spans)
    found = attributes(span)
    usage = next(body["usage"] for body in bodies if body.get("usage"))
    assert found["gen_ai.response.id"] == bodies[0]["id"]
    assert found["gen_ai.response.model"] == bodies[0]["model"]
    assert found["gen_ai.response.finish_reasons"] == ["stop"]
    assert (found["gen_ai.usage.input_tokens"], found["gen_ai.usage.output_tokens"]) == (
        usage["prompt_tokens"], usage["completion_tokens"])
    assert found["tollgate.stream"] is True and "gen_ai.output.messages" not in found


async def test_embeddings_are_an_embeddings_span(spans: InMemorySpanExporter, upstream: OpenAIUpstream) -> None:
    call = EmbeddingCall(model="e", input=["one two", "three"])

    async def embed(deployment: DeploymentRecord, call: EmbeddingCall) -> Any:
        return await transport.send_embedding(adapter_for("openai"), call, deployment.target)

    served = await served_in_request({"e": [record("emb", upstream, group="e", model="text-embedding-3-small")]},
                                     call, embed, call_type="embedding")
    [span] = client_spans(spans)
    assert span.name == "embeddings text-embedding-3-small"
    found = attributes(span)
    assert found["gen_ai.operation.name"] == "embeddings"
    assert found["gen_ai.request.model"] == "text-embedding-3-small"
    assert found["gen_ai.usage.input_tokens"] == served.value.usage.prompt_tokens > 0
    assert found["gen_ai.usage.output_tokens"] == 0


async def test_a_retry_then_a_fallback_are_sibling_attempt_spans(
        spans: InMemorySpanExporter, upstream: OpenAIUpstream) -> None:
    upstream.always_for("broken-model", Reply.json(500, {"error": {"message": "down", "type": "server_error",
                                                                   "code": "server_down"}}))
    groups = {"g": [record("a", upstream, model="broken-model")], "f": [record("b", upstream, group="f")]}
    served = await served_in_request(groups, ChatCall(model="g", messages=MESSAGES), chat, num_retries=1,
                                     fallbacks=[{"g": ["f"]}], allowed_fails=100)
    assert served.attempts == 3
    first, retry, fallback = sorted(client_spans(spans), key=lambda s: s.start_time or 0)
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert {s.parent.span_id for s in (first, retry, fallback) if s.parent} == {server.context.span_id}
    for failed in (first, retry):
        assert failed.name == "chat broken-model"
        assert failed.status.status_code == StatusCode.ERROR
        assert attributes(failed)["error.type"] == "server_down"
        assert attributes(failed)["tollgate.upstream.status_code"] == 500
        assert attributes(failed)["tollgate.deployment.id"] == "a-public"
    assert fallback.name == "chat gpt-4o-2024-08-06" and "error.type" not in attributes(fallback)
    assert attributes(fallback)["tollgate.model_group"] == "f"
    traceparents = [request.headers["traceparent"].split("-")[2] for request in upstream.requests]
    assert traceparents == [f"{s.context.span_id:016x}" for s in (first, retry, fallback)]


async def test_an_upstream_error_marks_the_span_failed(spans: InMemorySpanExporter, upstream: OpenAIUpstream) -> None:
    upstream.reply_with(Reply.json(400, {"error": {"message": "too long", "type": "invalid_request_error",
                                                   "param": "messages", "code": "context_length_exceeded"}}))
    with pytest.raises(UpstreamError):
        await served_in_request({"g": [record("a", upstream)]}, ChatCall(model="g", messages=MESSAGES), chat)
    [span] = client_spans(spans)
    assert span.status.status_code == StatusCode.ERROR
    found = attributes(span)
    assert (found["error.type"], found["tollgate.upstream.status_code"]) == ("context_length_exceeded", 400)
    assert "gen_ai.response.id" not in found
    assert_no_secret(spans)


async def test_content_is_recorded_only_when_asked(upstream: OpenAIUpstream) -> None:
    call = ChatCall(model="g", messages=MESSAGES)
    with traced() as plain:
        await served_in_request({"g": [record("a", upstream)]}, call, chat)
    assert not any(name.startswith("gen_ai.input") or name.startswith("gen_ai.output")
                   for span in plain.get_finished_spans() for name in span.attributes or {})
    with traced({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}) as capturing:
        served = await served_in_request({"g": [record("a", upstream)]}, call, chat)
    [span] = client_spans(capturing)
    found = attributes(span)
    assert json.loads(found["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello there"}]}]
    assert json.loads(found["gen_ai.output.messages"]) == [
        {"role": "assistant", "finish_reason": "stop",
         "parts": [{"type": "text", "content": served.value.body["choices"][0]["message"]["content"]}]}]


async def test_without_tracing_no_span_and_no_traceparent(upstream: OpenAIUpstream) -> None:
    assert tracing.ENABLED is False
    await route(table({"g": [record("a", upstream)]}), "g", CallOptions(),
                lambda d: chat(d, ChatCall(model="g", messages=MESSAGES)), CallType("chat"))
    [sent] = upstream.requests
    assert "traceparent" not in sent.headers


@pytest.mark.parametrize(("config", "wanted"), [
    ("litellm_settings:\n  callbacks: [\"otel\"]\n", True),
    ("litellm_settings:\n  success_callback: [langfuse, otel]\n", True),
    ("litellm_settings:\n  callbacks: otel\n", True),
    ("litellm_settings:\n  callbacks: [langfuse]\n", False),
    ("model_list: []\n", False),
], ids=["callbacks_case", "success_callback_case", "single_name_case", "other_callback_case", "no_settings_case"])
def test_the_config_can_turn_tracing_on(tmp_path: Path, config: str, wanted: bool) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    assert tracing_requested(path) is wanted
    assert tracing_requested(tmp_path / "missing.yaml") is False
