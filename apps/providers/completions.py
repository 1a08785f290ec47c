"""OpenAI's legacy text completions (`/v1/completions`) on any adapter, behind the transport's chat interface.

OpenAI-compatible upstreams that still serve `/completions` get the request as the client sent it
(`NativeCompletions`); every other provider gets it as chat, the prompt as one user message, with the
answer and the stream chunks rewritten as `text_completion` objects (`ChatAsCompletions`). Both wrap the
deployment's adapter for one call, so the transport, the stream meter and the SSE writer serve them as
they serve chat.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.openai import OpenAIAdapter, usage_from_openai
from apps.providers.adapters.openai_compatible import unsupported_error
from apps.providers.base import (
    ChatCall,
    ChatChunk,
    ChatCompletion,
    Frame,
    Message,
    ProviderAdapter,
    StreamState,
    Target,
    UpstreamRequest,
)

# OpenAI-compatible presets whose upstream has no legacy `/completions` endpoint: served over chat.
NO_LEGACY_ENDPOINT = frozenset({"mock", "groq", "perplexity", "mistral"})
# Completion parameters chat has no equivalent for: refused over chat (dropped under drop_params).
COMPLETION_ONLY = ("echo", "suffix", "best_of", "logprobs")
# Parameters that mean the same in both APIs, passed on over chat.
SHARED_PARAMS = frozenset({"max_tokens", "temperature", "top_p", "n", "stop", "presence_penalty",
                           "frequency_penalty", "seed", "user", "logit_bias", "metadata", "stream_options"})


@dataclass(frozen=True, slots=True)
class CompletionCall:
    """One `/v1/completions` request: `prompt` is a string, strings, a token array or token arrays."""

    model: str
    prompt: Any
    stream: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompts(self) -> list[Any]:
        """The prompts, one per completion (a lone string or token array is one)."""
        prompt = self.prompt
        if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int):
            return list(prompt)
        return [prompt]

    def as_chat(self) -> ChatCall:
        """The call as chat: every prompt's text as one user message (budgets and routing size it from this)."""
        text = "\n".join(p if isinstance(p, str) else jsonutil.dumps(p).decode() for p in self.prompts)
        params = {name: value for name, value in self.params.items() if name in SHARED_PARAMS}
        count = len(self.prompts)
        if count > 1:  # one answer per prompt: the worst case counts them all
            params["n"] = count * int(params.get("n") or 1)
        messages: list[Message] = [{"role": "user", "content": text}]
        return ChatCall(model=self.model, messages=messages, stream=self.stream, params=params)


def serves_natively(adapter: ProviderAdapter) -> bool:
    """Whether the adapter's upstream has OpenAI's `/completions` (OpenAI, Azure, the compatible presets)."""
    return (isinstance(adapter, OpenAIAdapter) and adapter.supports("chat")
            and adapter.prefix not in NO_LEGACY_ENDPOINT)


def completions_adapter(adapter: ProviderAdapter, call: CompletionCall) -> ProviderAdapter:
    """The deployment's adapter, wrapped to answer `call` natively or over chat."""
    if serves_natively(adapter):
        return cast(ProviderAdapter, NativeCompletions(cast(OpenAIAdapter, adapter), call))
    return cast(ProviderAdapter, ChatAsCompletions(adapter, call))


class Wrapped:
    """Hooks the wrapper does not define (framing, map_error, follow_up, sign...) are the adapter's own."""

    def __init__(self, inner: Any, call: CompletionCall) -> None:
        self.inner = inner
        self.call = call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class NativeCompletions(Wrapped):
    """The client's body sent to `{base}/completions`; answers and chunks passed through as they come."""

    inner: OpenAIAdapter

    def url(self, target: Target) -> str:
        endpoint = getattr(self.inner, "endpoint", None)  # Azure: per-deployment paths and api-version
        return str(endpoint(target, "completions")) if endpoint is not None else f"{self.inner.base_url(target)}/completions"

    def translate_request(self, chat: ChatCall, target: Target) -> UpstreamRequest:
        body: dict[str, Any] = {"model": target.model, "prompt": self.call.prompt, **self.call.params}
        if self.call.stream:
            body["stream"] = True
            # Always ask for usage so a streamed call is billed from the provider's own count.
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return UpstreamRequest(method="POST", url=self.url(target), headers=self.inner.headers(target),
                               body=jsonutil.dumps(body), stream=self.call.stream)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        return ChatCompletion(body=data, usage=usage_from_openai(data.get("usage")))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        return OpenAIAdapter.parse_stream_chunk(self.inner, frame, state)  # OpenAI's framing, unchanged bodies


def text_choice(choice: Mapping[str, Any], *, delta: bool) -> dict[str, Any]:
    """A chat choice (or streamed choice) as a `text_completion` one."""
    part = choice.get("delta" if delta else "message") or {}
    content = part.get("content") if isinstance(part, Mapping) else None
    return {"index": int(choice.get("index") or 0), "text": content if isinstance(content, str) else "",
            "finish_reason": choice.get("finish_reason"), "logprobs": None}


def text_completion_body(chat: Mapping[str, Any], *, delta: bool = False) -> dict[str, Any]:
    """A `chat.completion` (or chunk) as a `text_completion` object."""
    body: dict[str, Any] = {"id": chat.get("id") or "", "object": "text_completion",
                            "created": chat.get("created") or 0, "model": chat.get("model") or "",
                            "choices": [text_choice(choice, delta=delta) for choice in chat.get("choices") or ()]}
    for name in ("usage", "system_fingerprint"):
        if chat.get(name) is not None:
            body[name] = chat[name]
    return body


class ChatAsCompletions(Wrapped):
    """The prompt sent as one user message on the adapter's chat API; answers rewritten as text completions."""

    def check(self, target: Target) -> None:
        """One text prompt only; completion-only parameters refused unless the deployment drops them."""
        prompts = self.call.prompts
        if len(prompts) != 1 or not isinstance(prompts[0], str):
            raise InvalidRequest(f"provider {self.inner.prefix!r} serves completions over chat: send `prompt` as one "
                                 f"string", param="prompt", code="invalid_value")
        refused = [name for name in COMPLETION_ONLY if self.call.params.get(name) not in (None, False, 0)]
        if refused and not target.drop_params:
            raise unsupported_error(provider=self.inner.prefix, names=refused)

    def translate_request(self, chat: ChatCall, target: Target) -> UpstreamRequest:
        self.check(target)
        return cast(UpstreamRequest, self.inner.translate_request(chat, target))

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        answer: ChatCompletion = self.inner.parse_response(status, body, target)
        return ChatCompletion(body=text_completion_body(answer.body), usage=answer.usage)

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        chunks: list[ChatChunk] = self.inner.parse_stream_chunk(frame, state)
        return [ChatChunk(body=text_completion_body(chunk.body, delta=True), usage=chunk.usage) for chunk in chunks]
