"""Replicate's predictions API (`replicate/meta/meta-llama-3-70b-instruct`, `replicate/owner/model:version`,
`replicate/deployments/owner/name`).

A chat call creates a prediction: official models at `/models/{owner}/{name}/predictions`, a pinned
version at `/predictions` with `version`, a deployment at `/deployments/{owner}/{name}/predictions`. The
create asks `Prefer: wait` (sync mode: the answer is the finished prediction when it finishes in time);
a prediction still `starting`/`processing` is polled at `{base}/predictions/{id}` (`follow_up`) until a
terminal status. A streamed call creates the prediction with `stream: true` and reads its `urls.stream`
Server-Sent Events (`output`, `error`, `done`). Messages become one `prompt` (`prompt_templates`);
the first system message goes to `system_prompt` when the deployment sets `supports_system_prompt`.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from apps.core import jsonutil
from apps.providers.adapters.openai import ERROR_TYPES, error_code_for, retry_after_seconds
from apps.providers.adapters.openai_compatible import unsupported_error
from apps.providers.base import (
    BasicStreamState,
    CapabilityTable,
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    FollowUp,
    Frame,
    Framing,
    Message,
    StreamState,
    Target,
    UpstreamError,
    UpstreamRequest,
    Usage,
    finish_chunks,
    stream_chunk,
)
from apps.providers.prompt_templates import chat_prompt, message_text
from apps.providers.tokens import text_tokens

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
POLL_SECONDS = 0.5  # LiteLLM's polling delay; `replicate_poll_interval` in the deployment's params overrides it
VERSION_LENGTH = 64
REFUSED_PARAMS = frozenset({"tools", "tool_choice", "functions", "function_call", "response_format", "logprobs",
                            "top_logprobs", "logit_bias", "parallel_tool_calls", "n"})
# Deployment options (read from the Target's params; an SDK caller's keyword lands among the call's
# parameters instead, where it is honoured or dropped, never sent as a model input).
OPTIONS = frozenset({"supports_system_prompt", "replicate_wait", "replicate_poll_interval"})
IGNORED_PARAMS = frozenset({"user", "metadata", "stream_options", "store", *OPTIONS})
RENAMED = {"stop": "stop_sequences", "max_completion_tokens": "max_new_tokens", "max_tokens": "max_new_tokens"}
TRUSTED_STREAM_HOSTS = (".replicate.com", ".replicate.net")


def max_tokens_field(model: str) -> str:
    """The name a model takes its output limit under (LiteLLM's rules: vicuna/flan, codellama-13b)."""
    if "vicuna" in model or "flan" in model:
        return "max_length"
    return "max_tokens" if "meta/codellama-13b" in model else "max_new_tokens"


def prediction_input(call: ChatCall, target: Target) -> dict[str, Any]:
    """The prediction's `input`: prompt, optional system prompt, and the parameters in Replicate's names."""
    refused = sorted(name for name in REFUSED_PARAMS
                     if call.params.get(name) not in (None, False) and not (name == "n" and call.params[name] == 1))
    if refused and not target.drop_params:
        raise unsupported_error(provider=target.provider, names=refused)
    messages: list[Message] = list(call.messages)
    data: dict[str, Any] = {}
    if target.extra.get("supports_system_prompt") or call.params.get("supports_system_prompt"):
        system = next((m for m in messages if m.get("role") == "system"), None)
        if system is not None:
            messages.remove(system)
            data["system_prompt"] = message_text(system.get("content"))
    data["prompt"] = chat_prompt(messages, model=target.model)
    for name, value in call.params.items():
        if value is None or name in REFUSED_PARAMS | IGNORED_PARAMS:
            continue
        wire = max_tokens_field(target.model) if name in ("max_tokens", "max_completion_tokens") else \
            RENAMED.get(name, name)
        data[wire] = ",".join(value) if name == "stop" and isinstance(value, list) else value
    return data


def model_route(model: str) -> tuple[str, str | None]:
    """The create path and pinned version for a model string (see the module doc)."""
    name, _, version = model.partition(":")
    if version:
        return "predictions", version
    if len(name) == VERSION_LENGTH and "/" not in name:
        return "predictions", name  # a bare version id
    if name.startswith("deployments/"):
        return f"{name}/predictions", None
    return f"models/{name}/predictions", None


class ReplicateAdapter(CapabilityTable):
    """Language models on Replicate, answered through predictions."""

    prefix: ClassVar[str] = "replicate"
    api_key_env: ClassVar[tuple[str, ...]] = ("REPLICATE_API_KEY", "REPLICATE_API_TOKEN")
    api_base_env: ClassVar[tuple[str, ...]] = ("REPLICATE_API_BASE",)
    framing: ClassVar[Framing] = "sse"
    default_api_base: ClassVar[str] = "https://api.replicate.com/v1"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "usage_in_stream"})
    counts_prompt_tokens: ClassVar[bool] = False  # metrics count tokens for some models only

    def base_url(self, target: Target) -> str:
        base = (target.api_base or self.default_api_base).rstrip("/")
        return base if base.endswith("/v1") else f"{base}/v1"

    def headers(self, target: Target, *, auth: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        headers.update(target.headers)
        return headers

    # --- requests ---------------------------------------------------------------------------------

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        path, version = model_route(target.model)
        body: dict[str, Any] = {"input": prediction_input(call, target)}
        if version:
            body["version"] = version
        headers = self.headers(target)
        if call.stream:
            body["stream"] = True
        else:
            wait = target.extra.get("replicate_wait")
            headers["Prefer"] = f"wait={min(60, max(1, int(wait)))}" if wait else "wait"  # Replicate takes 1-60 s
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/{path}", headers=headers,
                               body=jsonutil.dumps(body))

    def follow_up(self, status: int, body: bytes, target: Target) -> FollowUp | None:
        """Poll a prediction that is not finished yet; the poll URL is built from its id, never taken from
        the answer, so the key only goes to the configured API."""
        prediction = jsonutil.loads(body)
        if prediction.get("status") in TERMINAL:
            return None
        request = UpstreamRequest(method="GET", url=f"{self.base_url(target)}/predictions/{prediction['id']}",
                                  headers=self.headers(target), body=b"")
        return FollowUp(request=request, delay=float(target.extra.get("replicate_poll_interval") or POLL_SECONDS))

    def stream_request(self, status: int, body: bytes, target: Target) -> UpstreamRequest:
        """The GET of the created prediction's `urls.stream` (the key is sent to Replicate's hosts only)."""
        prediction = jsonutil.loads(body)
        if prediction.get("status") in ("failed", "canceled", "aborted"):
            raise self.prediction_error(prediction)
        url = str((prediction.get("urls") or {}).get("stream") or "")
        if not url:
            raise UpstreamError(f"replicate model {target.model!r} does not stream its output", status=400,
                                error_type="invalid_request_error", code="streaming_unsupported", provider=self.prefix)
        host = urlsplit(url).hostname or ""
        trusted = host == urlsplit(self.base_url(target)).hostname or host.endswith(TRUSTED_STREAM_HOSTS)
        headers = {**self.headers(target, auth=trusted), "Accept": "text/event-stream", "Cache-Control": "no-store"}
        headers.pop("Content-Type")
        return UpstreamRequest(method="GET", url=url, headers=headers, body=b"", stream=True)

    # --- answers ----------------------------------------------------------------------------------

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        prediction = jsonutil.loads(body)
        if prediction.get("status") != "succeeded":
            raise self.prediction_error(prediction)
        output = prediction.get("output")
        text = "".join(str(piece) for piece in output) if isinstance(output, list) else str(output or "")
        metrics = prediction.get("metrics") or {}
        usage = Usage(prompt_tokens=int(metrics.get("input_token_count") or 0),
                      completion_tokens=int(metrics.get("output_token_count") or 0) or text_tokens(text))
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
        return ChatCompletion(body={"id": str(prediction.get("id") or ""), "object": "chat.completion",
                                    "created": int(time.time()), "model": target.model, "choices": [choice],
                                    "usage": usage.as_openai()}, usage=usage)

    def prediction_error(self, prediction: Mapping[str, Any]) -> UpstreamError:
        """A prediction that failed or was canceled (LiteLLM answers these 422)."""
        state = str(prediction.get("status") or "unknown")
        detail = prediction.get("error") or f"prediction {state}"
        return UpstreamError(f"replicate prediction {prediction.get('id', '')} {state}: {detail}", status=422,
                             error_type="invalid_request_error", code=f"prediction_{state}", provider=self.prefix)

    def new_stream_state(self) -> StreamState:
        return BasicStreamState(response_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        """`output` events carry text; `error` ends the stream with an error; `done` finishes it."""
        assert isinstance(state, BasicStreamState)
        if frame.event == "error":
            detail = jsonutil.loads(frame.data).get("detail") if frame.data.startswith(b"{") else frame.data.decode()
            raise UpstreamError(f"replicate prediction failed: {detail}", status=422, error_type="invalid_request_error",
                                code="prediction_failed", provider=self.prefix)
        if frame.event == "done":
            return self.finish(frame, state)
        if frame.event not in (None, "output"):
            return []
        text = frame.data.decode("utf-8", "replace")
        state.scratch["text"] = state.scratch.get("text", "") + text
        first = not state.scratch.get("started")
        state.scratch["started"] = True
        return [stream_chunk(state, {"role": "assistant", "content": text} if first else {"content": text})]

    def finish(self, frame: Frame, state: BasicStreamState) -> list[ChatChunk]:
        done = jsonutil.loads(frame.data) if frame.data.startswith(b"{") else {}
        if done.get("reason") in ("canceled", "error"):
            raise UpstreamError(f"replicate prediction {done['reason']}", status=422, error_type="invalid_request_error",
                                code=f"prediction_{done['reason']}", provider=self.prefix)
        usage = Usage(completion_tokens=text_tokens(state.scratch.get("text", "")))
        return finish_chunks(state, "stop", usage)


    # --- errors -----------------------------------------------------------------------------------

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        """Replicate's problem details: `{"title", "detail", "status"}`."""
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"detail": body.decode("utf-8", "replace")[:500]}
        data = data if isinstance(data, dict) else {}
        message = str(data.get("detail") or data.get("title") or f"replicate returned {status}")
        code = error_code_for(status, message, None) or {401: "invalid_api_key", 429: "rate_limit_exceeded",
                                                         404: "model_not_found"}.get(status)
        return UpstreamError(message, status=status, error_type=ERROR_TYPES.get(status, "api_error"), code=code,
                             retry_after=retry_after_seconds(headers), provider=self.prefix)

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        raise unsupported_error(provider=self.prefix, names=["input"])

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        raise unsupported_error(provider=self.prefix, names=["input"])
