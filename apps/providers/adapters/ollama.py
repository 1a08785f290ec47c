"""Ollama's native API: `/api/chat` (NDJSON stream or one JSON object) and `/api/embed`.

OpenAI requests become Ollama ones (sampling parameters move into `options`, `response_format` into
`format`, image data URLs into a message's `images`, `reasoning_effort` into `think`); Ollama answers
become OpenAI `chat.completion` bodies and chunks (tool-call arguments serialised to JSON strings,
tool-call ids synthesised, `thinking` as `reasoning_content`, usage from the eval counts).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, TypedDict

from apps.core import jsonutil
from apps.providers.adapters.openai import ERROR_TYPES, error_code_for, retry_after_seconds
from apps.providers.adapters.openai_compatible import unsupported_error
from apps.providers.base import (
    CapabilityTable,
    BasicStreamState,
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    Frame,
    Framing,
    Message,
    StreamState,
    Target,
    UpstreamError,
    UpstreamRequest,
    Usage,
)

DEFAULT_API_BASE = "http://localhost:11434"
# OpenAI sampling parameters and their names in Ollama's `options`.
OPTION_NAMES = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop",
                "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty",
                "top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty", "num_ctx": "num_ctx"}
# Parameters with no Ollama equivalent that change the answer, so they are refused rather than ignored.
UNSUPPORTED = ("logit_bias", "logprobs", "top_logprobs")
# Top-level Ollama fields a caller may pass through as extra parameters or deployment `extra`.
PASSTHROUGH = ("keep_alive", "think")
THINK_LEVELS = {"none": False, "minimal": False, "low": "low", "medium": "medium", "high": "high",
                "xhigh": "max", "max": "max"}
FINISH_REASONS = {"stop": "stop", "length": "length"}


class OllamaToolCall(TypedDict, total=False):
    id: str
    function: dict[str, Any]  # {"index"?, "name", "arguments": object}


class OllamaMessage(TypedDict, total=False):
    role: str
    content: str
    thinking: str
    images: list[str]
    tool_calls: list[OllamaToolCall]
    tool_name: str
    tool_call_id: str


# --- requests -----------------------------------------------------------------------------------------

def image_data(url: str) -> str | None:
    """The base64 payload of a `data:` URL (Ollama takes raw base64 and fetches nothing)."""
    header, sep, payload = url.partition(",")
    return payload if sep and header.startswith("data:") and header.endswith(";base64") else None


def content_parts(content: Any, *, target: Target) -> tuple[str, list[str]]:
    """Text and base64 images from an OpenAI `content` (a string or a list of parts)."""
    if not isinstance(content, list):
        return ("" if content is None else str(content)), []
    texts, images = [], []
    for part in content:
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            url = part["image_url"]["url"] if isinstance(part.get("image_url"), dict) else str(part.get("image_url"))
            data = image_data(url)
            if data is not None:
                images.append(data)
            elif not target.drop_params:
                raise unsupported_error(provider="ollama (images must be base64 data URLs)", names=["messages"])
    return "\n".join(texts), images


def tool_call_out(call: Mapping[str, Any]) -> OllamaToolCall:
    """An OpenAI assistant tool call as Ollama wants it back: arguments as an object."""
    function = call.get("function") or {}
    raw = function.get("arguments") or "{}"
    try:
        arguments = jsonutil.loads(raw) if isinstance(raw, str) else raw
    except jsonutil.JSONDecodeError:
        arguments = {}
    out: OllamaToolCall = {"function": {"name": function.get("name", ""),
                                        "arguments": arguments if isinstance(arguments, dict) else {}}}
    if call.get("id"):
        out["id"] = str(call["id"])
    return out


def convert_message(message: Message, *, target: Target, tool_names: dict[str, str]) -> OllamaMessage:
    """One OpenAI message as an Ollama message; `tool_names` maps tool-call ids seen so far to names."""
    role = "system" if message.get("role") == "developer" else str(message.get("role", "user"))
    text, images = content_parts(message.get("content"), target=target)
    out: OllamaMessage = {"role": role, "content": text}
    if images:
        out["images"] = images
    if message.get("reasoning_content"):
        out["thinking"] = str(message["reasoning_content"])
    if message.get("tool_calls"):
        out["tool_calls"] = [tool_call_out(call) for call in message["tool_calls"]]
        tool_names.update({c["id"]: c["function"]["name"] for c in message["tool_calls"] if c.get("id")})
    if role == "tool":
        call_id = str(message.get("tool_call_id") or "")
        out["tool_call_id"] = call_id
        if call_id in tool_names:
            out["tool_name"] = tool_names[call_id]
    return out


def response_format(value: Any) -> Any:
    """Ollama's `format` for an OpenAI `response_format`: "json", a JSON schema, or None for text."""
    if not isinstance(value, dict):
        return None
    if value.get("type") == "json_object":
        return "json"
    if value.get("type") == "json_schema":
        return (value.get("json_schema") or {}).get("schema") or "json"
    return None


def ollama_options(call: ChatCall, target: Target) -> dict[str, Any]:
    """Ollama `options` from the sampling parameters, `max_tokens` and the deployment's `num_ctx`."""
    options: dict[str, Any] = {}
    if target.extra.get("num_ctx"):
        options["num_ctx"] = target.extra["num_ctx"]
    for name, option in OPTION_NAMES.items():
        if call.params.get(name) is not None:
            options[option] = call.params[name]
    if isinstance(options.get("stop"), str):
        options["stop"] = [options["stop"]]
    if call.max_tokens is not None:
        options["num_predict"] = call.max_tokens
    options.update(call.params.get("options") or {})
    return options


def refused_params(call: ChatCall) -> list[str]:
    """Parameters set to something Ollama cannot honour."""
    names = [name for name in UNSUPPORTED if call.params.get(name) not in (None, False)]
    if isinstance(call.params.get("n"), int) and call.params["n"] > 1:
        names.append("n")
    choice = call.params.get("tool_choice")
    if choice == "required" or isinstance(choice, dict):
        names.append("tool_choice")  # Ollama lets the model decide; it cannot force a call
    return names


def chat_request_body(call: ChatCall, target: Target) -> dict[str, Any]:
    """The `/api/chat` JSON for an OpenAI call."""
    refused = refused_params(call)
    if refused and not target.drop_params:
        raise unsupported_error(provider="ollama", names=refused)
    tool_names: dict[str, str] = {}
    body: dict[str, Any] = {"model": target.model, "stream": call.stream, "messages": [
        convert_message(m, target=target, tool_names=tool_names) for m in call.messages]}
    if call.params.get("tools") and call.params.get("tool_choice") != "none":
        body["tools"] = call.params["tools"]
    fmt = response_format(call.params.get("response_format"))
    if fmt is not None:
        body["format"] = fmt
    effort = call.params.get("reasoning_effort")
    if effort in THINK_LEVELS:
        body["think"] = THINK_LEVELS[effort]
    for name in PASSTHROUGH:
        value = call.params.get(name, target.extra.get(name))
        if value is not None:
            body[name] = value
    options = ollama_options(call, target)
    if options:
        body["options"] = options
    return body


# --- responses ----------------------------------------------------------------------------------------

def created_at(data: Mapping[str, Any]) -> int:
    """Unix seconds from Ollama's RFC 3339 `created_at` (now, if absent or unreadable)."""
    try:
        return int(datetime.fromisoformat(str(data["created_at"])).timestamp())
    except (KeyError, ValueError):
        return int(time.time())


def usage_from_ollama(data: Mapping[str, Any]) -> Usage:
    return Usage(prompt_tokens=int(data.get("prompt_eval_count") or 0),
                 completion_tokens=int(data.get("eval_count") or 0))


def tool_calls_in(calls: list[Mapping[str, Any]], *, first_index: int) -> list[dict[str, Any]]:
    """OpenAI tool calls (with `index`) from Ollama's: ids synthesised when absent, arguments as JSON text."""
    out = []
    for offset, call in enumerate(calls):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        text = arguments if isinstance(arguments, str) else jsonutil.dumps(arguments or {}).decode()
        out.append({"index": first_index + offset, "id": str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}"),
                    "type": "function", "function": {"name": function.get("name", ""), "arguments": text}})
    return out


def finish_reason(data: Mapping[str, Any], *, saw_tools: bool) -> str:
    if saw_tools:
        return "tool_calls"
    return FINISH_REASONS.get(str(data.get("done_reason") or "stop"), "stop")


def completion_body(data: Mapping[str, Any], *, target: Target) -> dict[str, Any]:
    """The OpenAI `chat.completion` for a non-streamed `/api/chat` answer."""
    raw = data.get("message") or {}
    calls = [{k: v for k, v in c.items() if k != "index"} for c in tool_calls_in(raw.get("tool_calls") or [],
                                                                                 first_index=0)]
    message: dict[str, Any] = {"role": "assistant", "content": raw.get("content") or (None if calls else "")}
    if raw.get("thinking"):
        message["reasoning_content"] = raw["thinking"]
    if calls:
        message["tool_calls"] = calls
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": created_at(data),
            "model": data.get("model") or target.model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish_reason(data, saw_tools=bool(calls))}],
            "usage": dict(usage_from_ollama(data).as_openai())}


class OllamaAdapter(CapabilityTable):
    """`ollama/llama3.2` against a local (or ollama.com) Ollama server's native API."""

    prefix: ClassVar[str] = "ollama"
    api_key_env: ClassVar[tuple[str, ...]] = ("OLLAMA_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("OLLAMA_API_BASE",)
    framing: ClassVar[Framing] = "ndjson"
    default_api_base: ClassVar[str] = DEFAULT_API_BASE
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream"})

    def base_url(self, target: Target) -> str:
        return (target.api_base or self.default_api_base).rstrip("/")

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"  # ollama.com and authenticating proxies
        headers.update(target.headers)
        return headers

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/api/chat", headers=self.headers(target),
                               body=jsonutil.dumps(chat_request_body(call, target)), stream=call.stream)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        if data.get("error"):
            raise self.error_from_body(500, {}, data)
        return ChatCompletion(body=completion_body(data, target=target), usage=usage_from_ollama(data))

    # --- streaming ----------------------------------------------------------------------------------

    def new_stream_state(self) -> StreamState:
        return BasicStreamState(response_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        if not frame.data:
            return []
        data = jsonutil.loads(frame.data)
        if data.get("error"):
            raise self.error_from_body(500, {}, data)  # mid-stream: the status line already said 200
        if not state.model:
            state.model, state.created = str(data.get("model") or ""), created_at(data)
        chunks = [self.chunk(state, choices=[{"index": 0, "delta": delta, "finish_reason": None}])
                  for delta in self.deltas(data, state)]
        if data.get("done"):
            state.usage = usage_from_ollama(data)
            reason = finish_reason(data, saw_tools=bool(state.tool_index))
            chunks.append(self.chunk(state, choices=[{"index": 0, "delta": {}, "finish_reason": reason}]))
            usage_body = self.chunk(state, choices=[]).body
            chunks.append(ChatChunk(body={**usage_body, "usage": dict(state.usage.as_openai())}, usage=state.usage))
        return chunks

    def deltas(self, data: Mapping[str, Any], state: BasicStreamState) -> list[dict[str, Any]]:
        """The OpenAI deltas one NDJSON line holds (the first one also names the role)."""
        message = data.get("message") or {}
        delta: dict[str, Any] = {}
        if not state.scratch.get("role_sent"):
            state.scratch["role_sent"] = True
            delta["role"] = "assistant"
        if message.get("thinking"):
            delta["reasoning_content"] = message["thinking"]
        if message.get("content") or ("role" in delta and not message.get("thinking")):
            delta["content"] = message.get("content") or ""
        if message.get("tool_calls"):
            calls = tool_calls_in(message["tool_calls"], first_index=len(state.tool_index))
            state.tool_index.update({call["id"]: call["index"] for call in calls})
            delta["tool_calls"] = calls
        return [delta] if delta else []

    def chunk(self, state: BasicStreamState, *, choices: list[dict[str, Any]]) -> ChatChunk:
        return ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                               "model": state.model, "choices": choices})

    # --- embeddings ---------------------------------------------------------------------------------

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        if any(not isinstance(item, str) for item in call.inputs) and not target.drop_params:
            raise unsupported_error(provider="ollama (token-id inputs)", names=["input"])
        body: dict[str, Any] = {"model": target.model, "input": [str(item) for item in call.inputs]
                                if isinstance(call.input, list) else str(call.input)}
        for name in ("dimensions", "truncate", "keep_alive", "options"):
            if call.params.get(name) is not None:
                body[name] = call.params[name]
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/api/embed", headers=self.headers(target),
                               body=jsonutil.dumps(body))

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        data = jsonutil.loads(body)
        # Ollama answers floats only: the transport packs them as base64 when the client asked for that.
        items = [{"object": "embedding", "index": index, "embedding": vector}
                 for index, vector in enumerate(data.get("embeddings") or [])]
        usage = Usage(prompt_tokens=int(data.get("prompt_eval_count") or 0))
        return EmbeddingResult(body={"object": "list", "data": items, "model": data.get("model") or target.model,
                                     "usage": {"prompt_tokens": usage.prompt_tokens,
                                               "total_tokens": usage.prompt_tokens}}, usage=usage)

    # --- errors -------------------------------------------------------------------------------------

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"error": body.decode("utf-8", "replace")[:500]}
        return self.error_from_body(status, headers, data if isinstance(data, dict) else {})

    def error_from_body(self, status: int, headers: Mapping[str, str], data: Mapping[str, Any]) -> UpstreamError:
        """Ollama errors are `{"error": "<message>"}`; the status says what kind."""
        raw = data.get("error")
        message = str(raw.get("message") if isinstance(raw, dict) else raw or f"ollama returned {status}")
        code = error_code_for(status, message.replace("context length", "maximum context length"), None)
        if status == 404 and code is None:
            code = "model_not_found" if "model" in message else "not_found"
        return UpstreamError(message, status=status, error_type=ERROR_TYPES.get(status, "api_error"), code=code,
                             retry_after=retry_after_seconds(headers), provider=self.prefix)


class OllamaChatAdapter(OllamaAdapter):
    """`ollama_chat/<model>`: LiteLLM's name for the same `/api/chat` adapter."""

    prefix: ClassVar[str] = "ollama_chat"
