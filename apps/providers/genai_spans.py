"""GenAI client spans: one per upstream attempt, named and described as the OpenTelemetry GenAI conventions say.

Only used when `apps.core.tracing.ENABLED`. A span is `{gen_ai.operation.name} {gen_ai.request.model}` with
the provider (its semconv well-known name), the request's parameters, the answer's id, model, finish reasons
and token counts, the upstream's `server.address`/`server.port`, and `error.type` when the attempt failed.
A streamed attempt's span stays open until its stream ends, so its usage and finish reasons are the final
ones. Prompts and completions are recorded only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true;
keys and credentials never are (headers are not recorded at all).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from apps.core import jsonutil, tracing
from apps.core.errors import GatewayError
from apps.providers.base import ChatCall, ChatChunk, EmbeddingCall, Target, UpstreamError, Usage
from apps.providers.transport import ChatStream

if TYPE_CHECKING:
    from opentelemetry.trace import Span

T = TypeVar("T")
D = TypeVar("D", bound="Deployed")

# Registry prefix -> gen_ai.provider.name (the conventions' well-known values); other prefixes name themselves.
PROVIDER_NAMES = {
    "openai": "openai", "text-completion-openai": "openai", "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference", "anthropic": "anthropic", "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "cohere": "cohere", "deepseek": "deepseek",
    "groq": "groq", "mistral": "mistral_ai", "perplexity": "perplexity", "xai": "x_ai", "watsonx": "ibm.watsonx.ai",
}
# A call's type (as spend rows name it) -> gen_ai.operation.name; calls the conventions do not name keep theirs.
OPERATIONS = {"chat": "chat", "anthropic_messages": "chat", "aresponses": "chat", "embedding": "embeddings",
              "text_completion": "text_completion"}
# Request parameters -> their span attribute.
REQUEST_PARAMS = (("max_tokens", "gen_ai.request.max_tokens"), ("max_completion_tokens", "gen_ai.request.max_tokens"),
                  ("temperature", "gen_ai.request.temperature"), ("top_p", "gen_ai.request.top_p"),
                  ("frequency_penalty", "gen_ai.request.frequency_penalty"),
                  ("presence_penalty", "gen_ai.request.presence_penalty"), ("seed", "gen_ai.request.seed"))
STREAM_CAPTURE_CHARS = 64 * 1024  # a captured streamed completion is cut here (span attributes are not a log)


class Deployed(Protocol):
    """The deployment an attempt goes to (routing's DeploymentRecord is one)."""

    @property
    def public_id(self) -> str: ...

    @property
    def target(self) -> Target: ...


def provider_name(prefix: str) -> str:
    return PROVIDER_NAMES.get(prefix, prefix)


def operation_name(call_type: str) -> str:
    return OPERATIONS.get(call_type, call_type)


def request_attributes(*, operation: str, target: Target, deployment_id: str,
                       call: ChatCall | EmbeddingCall | None) -> dict[str, Any]:
    """What is known before the attempt is sent."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation, "gen_ai.provider.name": provider_name(target.provider),
        "gen_ai.request.model": target.model, "tollgate.deployment.id": deployment_id,
        "tollgate.model_group": target.model_alias}
    params = call.params if call is not None else {}
    for name, attribute in REQUEST_PARAMS:
        value = params.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[attribute] = value
    if isinstance(call, ChatCall):
        attributes["tollgate.stream"] = call.stream
        if tracing.CAPTURE_CONTENT:
            attributes["gen_ai.input.messages"] = jsonutil.dumps(input_messages(call.messages)).decode()
    elif isinstance(call, EmbeddingCall) and isinstance(params.get("dimensions"), int):
        attributes["gen_ai.embeddings.dimension.count"] = params["dimensions"]
    return attributes


def text_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as the conventions' parts: text as text, anything else by its type only."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": "text", "content": part.get("text", "")})
        elif isinstance(part, dict):
            parts.append({"type": str(part.get("type", "unknown"))})
    return parts


def input_messages(messages: list[Any]) -> list[dict[str, Any]]:
    return [{"role": m.get("role", ""), "parts": text_parts(m.get("content"))} for m in messages if isinstance(m, dict)]


def usage_attributes(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        return {}
    return {"gen_ai.usage.input_tokens": usage.prompt_tokens, "gen_ai.usage.output_tokens": usage.completion_tokens}


def response_attributes(body: Any, usage: Usage | None) -> dict[str, Any]:
    """The answer's id, model and finish reasons (an OpenAI-shaped body), and its token counts."""
    attributes = usage_attributes(usage)
    if not isinstance(body, dict):
        return attributes
    if isinstance(body.get("id"), str):
        attributes["gen_ai.response.id"] = body["id"]
    if isinstance(body.get("model"), str) and body["model"]:
        attributes["gen_ai.response.model"] = body["model"]
    choices = [c for c in body.get("choices") or () if isinstance(c, dict)]
    reasons = [str(c["finish_reason"]) for c in choices if c.get("finish_reason")]
    if reasons:
        attributes["gen_ai.response.finish_reasons"] = reasons
    if tracing.CAPTURE_CONTENT and choices:
        attributes["gen_ai.output.messages"] = jsonutil.dumps([
            {"role": "assistant", "parts": text_parts((c.get("message") or {}).get("content")),
             "finish_reason": c.get("finish_reason") or ""} for c in choices]).decode()
    return attributes


def failed(span: Span, error: BaseException) -> None:
    """`error.type` (the upstream's error code, else its type, else the exception's class) and an error status."""
    from opentelemetry.trace import StatusCode

    if isinstance(error, UpstreamError):
        kind = error.error_code or error.error_type or type(error).__qualname__
        span.set_attribute("tollgate.upstream.status_code", error.upstream_status)
    elif isinstance(error, GatewayError):
        kind = error.error_code or error.type
    elif isinstance(error, (asyncio.CancelledError, GeneratorExit)):
        kind = "cancelled"  # the client hung up (or stopped reading) mid-attempt
    else:
        kind = type(error).__qualname__
    span.set_attribute("error.type", kind)
    span.set_status(StatusCode.ERROR, str(error) if isinstance(error, GatewayError) else kind)


def traced(attempt: Callable[[D], Awaitable[T]], *, call_type: str,
           call: ChatCall | EmbeddingCall | None) -> Callable[[D], Awaitable[T]]:
    """`attempt` with a CLIENT span around each run, current while it runs (the transport's `traceparent`
    names it); a stream it opens takes the span over and ends it with the stream."""
    from opentelemetry import trace

    operation = operation_name(call_type)

    async def run(deployment: D) -> T:
        target = deployment.target
        span = tracing.tracer().start_span(f"{operation} {target.model}".strip(), kind=trace.SpanKind.CLIENT,
                                           attributes=request_attributes(
                                               operation=operation, target=target, deployment_id=deployment.public_id,
                                               call=call))
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                value = await attempt(deployment)
        except BaseException as error:
            failed(span, error)
            span.end()
            raise
        if isinstance(value, ChatStream):
            return TracedStream(value, span)  # type: ignore[return-value]  # a ChatStream still
        span.set_attributes(response_attributes(getattr(value, "body", None), _usage(value)))
        span.end()
        return value

    return run


def _usage(value: Any) -> Usage | None:
    usage = getattr(value, "usage", None)
    return usage if isinstance(usage, Usage) else None


@dataclass(slots=True)
class StreamSummary:
    """What a stream's chunks said, for its span."""

    response_id: str = ""
    model: str = ""
    finish_reasons: list[str] = field(default_factory=list)
    usage: Usage | None = None
    text: list[str] = field(default_factory=list)
    text_chars: int = 0

    def add(self, chunk: ChatChunk) -> None:
        body = chunk.body
        self.response_id = self.response_id or str(body.get("id") or "")
        self.model = self.model or str(body.get("model") or "")
        self.usage = chunk.usage or self.usage
        for choice in body.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.finish_reasons.append(str(choice["finish_reason"]))
            content = (choice.get("delta") or {}).get("content") if tracing.CAPTURE_CONTENT else None
            if isinstance(content, str) and self.text_chars < STREAM_CAPTURE_CHARS:
                self.text.append(content)
                self.text_chars += len(content)

    def attributes(self) -> dict[str, Any]:
        attributes = usage_attributes(self.usage)
        if self.response_id:
            attributes["gen_ai.response.id"] = self.response_id
        if self.model:
            attributes["gen_ai.response.model"] = self.model
        if self.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = self.finish_reasons
        if tracing.CAPTURE_CONTENT:
            attributes["gen_ai.output.messages"] = jsonutil.dumps([{
                "role": "assistant", "parts": [{"type": "text", "content": "".join(self.text)[:STREAM_CAPTURE_CHARS]}],
                "finish_reason": self.finish_reasons[-1] if self.finish_reasons else ""}]).decode()
        return attributes


class TracedStream(ChatStream):
    """An open stream whose attempt span ends with it: final usage and finish reasons, or the error that cut it."""

    def __init__(self, inner: ChatStream, span: Span) -> None:
        super().__init__(inner.adapter, inner.target, inner.response, inner.call)
        self.inner = inner
        self.span = span
        self.ended = False

    async def batches(self) -> AsyncGenerator[list[ChatChunk], None]:
        summary = StreamSummary()
        try:
            async with aclosing(self.inner.batches()) as batches:
                async for batch in batches:
                    for chunk in batch:
                        summary.add(chunk)
                    yield batch
        except BaseException as error:
            failed(self.span, error)
            raise
        finally:
            self.span.set_attributes(summary.attributes())
            self.end()

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.span.end()

    async def aclose(self) -> None:
        """Hung up before it was read: the span ends too (it would otherwise never be exported)."""
        self.end()
        await self.inner.aclose()
