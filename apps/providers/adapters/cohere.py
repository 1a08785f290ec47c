"""Cohere API v2: /v2/chat (JSON and SSE), /v2/embed and /v2/rerank."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.openai import ERROR_TYPES, error_code_for, retry_after_seconds
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
    ToolCall,
    ParamNotSupported,
    StreamState,
    Target,
    UpstreamError,
    UpstreamRequest,
    Usage,
    finish_chunks,
    stream_chunk,
)
from apps.providers.embedding_format import embedding_list
from apps.providers.rerank import RerankBody, RerankCall, RerankResult

FINISH_REASONS = {"COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_calls",
                  "ERROR": "stop", "TIMEOUT": "stop"}
SIMPLE_PARAMS = {"temperature": "temperature", "top_p": "p", "top_k": "k", "seed": "seed",
                 "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty",
                 "logprobs": "logprobs", "safety_mode": "safety_mode", "documents": "documents",
                 "citation_options": "citation_options", "strict_tools": "strict_tools"}
HANDLED_PARAMS = frozenset({*SIMPLE_PARAMS, "max_tokens", "max_completion_tokens", "stop", "response_format", "tools",
                            "tool_choice", "reasoning_effort", "n"})
IGNORED_PARAMS = frozenset({"user", "metadata", "stream_options", "parallel_tool_calls", "store"})
THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 2048, "high": 4096}
EMBEDDING_PARAMS = frozenset({"dimensions", "encoding_format", "input_type", "truncate", "user"})


class CohereMessage(TypedDict, total=False):
    role: str
    content: Any
    tool_calls: list[dict[str, Any]]
    tool_plan: str
    tool_call_id: str


# --- requests ---------------------------------------------------------------------------------------

def content_item(part: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAI content part as a Cohere content item (text or image_url)."""
    kind = part.get("type")
    if kind in ("text", "input_text"):
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        item: dict[str, Any] = {"url": str(url or "")}
        if isinstance(image, Mapping) and image.get("detail"):
            item["detail"] = image["detail"]
        return {"type": "image_url", "image_url": item}
    raise InvalidRequest(f"content part type {kind!r} is not supported by Cohere", param="messages")


def user_content(content: Any) -> Any:
    """A string stays a string; a part list becomes Cohere content items."""
    if isinstance(content, list):
        return [content_item(part) for part in content if isinstance(part, Mapping)]
    return content if isinstance(content, str) else ""


def plain_text(content: Any) -> str:
    """The text of a message content (string or part list)."""
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return content if isinstance(content, str) else ""


def cohere_tool_call(call: ToolCall) -> dict[str, Any]:
    """An OpenAI tool call as Cohere v2 takes it (the same shape, arguments defaulted to `{}`)."""
    function: Mapping[str, Any] = call.get("function") or {}
    return {"id": call.get("id", ""), "type": "function",
            "function": {"name": function.get("name", ""), "arguments": function.get("arguments") or "{}"}}


def assistant_message(message: Message) -> CohereMessage:
    """An assistant turn; with tool calls, its text is Cohere's `tool_plan` (as Cohere returns it)."""
    text = plain_text(message.get("content"))
    calls = message.get("tool_calls") or []
    if not calls:
        return {"role": "assistant", "content": text}
    converted: CohereMessage = {"role": "assistant", "tool_calls": [cohere_tool_call(call) for call in calls]}
    if text:
        converted["tool_plan"] = text
    return converted


def convert_message(message: Message) -> CohereMessage:
    """One OpenAI message as a Cohere v2 message."""
    role = message.get("role")
    if role in ("system", "developer"):
        return {"role": "system", "content": plain_text(message.get("content"))}
    if role == "user":
        return {"role": "user", "content": user_content(message.get("content"))}
    if role == "assistant":
        return assistant_message(message)
    if role == "tool":
        return {"role": "tool", "tool_call_id": str(message.get("tool_call_id") or ""),
                "content": plain_text(message.get("content"))}
    raise InvalidRequest(f"message role {role!r} is not supported by Cohere", param="messages")


def response_format(value: Any) -> dict[str, Any] | None:
    """Cohere's `response_format` (json_object, with a schema when one is given)."""
    if not isinstance(value, Mapping) or value.get("type") in (None, "text"):
        return None
    schema = (value.get("json_schema") or {}).get("schema")
    if value.get("type") == "json_schema" and schema:
        return {"type": "json_object", "json_schema": schema}
    return {"type": "json_object"}


def tool_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """`tools` and `tool_choice`; a named function becomes REQUIRED over just that tool."""
    tools = list(params.get("tools") or [])
    choice = params.get("tool_choice")
    settings: dict[str, Any] = {}
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        tools = [tool for tool in tools if (tool.get("function") or {}).get("name") == name]
        choice = "required"
    if tools:
        settings["tools"] = tools
        if choice in ("required", "none"):
            settings["tool_choice"] = str(choice).upper()
    return settings


def chat_options(call: ChatCall, target: Target) -> dict[str, Any]:
    """Sampling, output and tool settings in Cohere's names."""
    params = call.params
    unknown = sorted(name for name, value in params.items()
                     if value is not None and name not in HANDLED_PARAMS | IGNORED_PARAMS)
    if params.get("n") not in (None, 1):
        unknown.insert(0, "n")
    if unknown and not target.drop_params:
        raise ParamNotSupported(f"cohere does not support parameters: {', '.join(unknown)}", param=unknown[0])
    options: dict[str, Any] = {wire: params[name] for name, wire in SIMPLE_PARAMS.items() if params.get(name) is not None}
    if call.max_tokens is not None:
        options["max_tokens"] = call.max_tokens
    stop = params.get("stop")
    if stop:
        options["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    fmt = response_format(params.get("response_format"))
    if fmt is not None:
        options["response_format"] = fmt
    effort = params.get("reasoning_effort")
    if effort is not None:
        options["thinking"] = {"type": "enabled", "token_budget": THINKING_BUDGETS[effort]} \
            if effort in THINKING_BUDGETS else {"type": "disabled"}
    options.update(tool_settings(params))
    return options


# --- responses --------------------------------------------------------------------------------------

def usage_from_cohere(raw: Mapping[str, Any] | None) -> Usage:
    """Billed units are what Cohere charges; raw token counts are the fallback."""
    if not raw:
        return Usage()
    billed = raw.get("billed_units") or {}
    tokens = raw.get("tokens") or {}
    prompt = billed.get("input_tokens", tokens.get("input_tokens"))
    completion = billed.get("output_tokens", tokens.get("output_tokens"))
    return Usage(prompt_tokens=int(prompt or 0), completion_tokens=int(completion or 0),
                 cached_tokens=int(raw.get("cached_tokens") or 0))


def message_from(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI assistant message for a Cohere response message (thinking -> reasoning_content)."""
    items = raw.get("content") or []
    text = "".join(str(item.get("text") or "") for item in items if item.get("type") == "text")
    thinking = "".join(str(item.get("thinking") or "") for item in items if item.get("type") == "thinking")
    calls = [{"id": call.get("id", ""), "type": "function",
              "function": {"name": (call.get("function") or {}).get("name", ""),
                           "arguments": (call.get("function") or {}).get("arguments") or "{}"}}
             for call in raw.get("tool_calls") or []]
    message: dict[str, Any] = {"role": "assistant", "content": text or raw.get("tool_plan") or None}
    if thinking:
        message["reasoning_content"] = thinking
    if calls:
        message["tool_calls"] = calls
    return message


class CohereAdapter(CapabilityTable):
    """Speaks Cohere's v2 chat, embed and rerank APIs."""

    prefix: ClassVar[str] = "cohere"
    api_key_env: ClassVar[tuple[str, ...]] = ("COHERE_API_KEY", "CO_API_KEY")
    api_base_env: ClassVar[tuple[str, ...]] = ("COHERE_API_BASE",)
    framing: ClassVar[Framing] = "sse"
    default_api_base: ClassVar[str] = "https://api.cohere.com"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "rerank", "usage_in_stream"})

    def url(self, target: Target, endpoint: str) -> str:
        """A /v2 endpoint URL; a configured base ending in /v1 or /v2 is accepted."""
        base = (target.api_base or self.default_api_base).rstrip("/").removesuffix("/v2").removesuffix("/v1")
        return f"{base}/v2/{endpoint}"

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        headers.update(target.headers)
        return headers

    def post(self, target: Target, endpoint: str, body: Mapping[str, Any], *, stream: bool = False) -> UpstreamRequest:
        headers = self.headers(target)
        if stream:
            headers["Accept"] = "text/event-stream"
        return UpstreamRequest(method="POST", url=self.url(target, endpoint), headers=headers,
                               body=jsonutil.dumps(body), stream=stream)

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        body: dict[str, Any] = {"model": target.model, "messages": [convert_message(m) for m in call.messages],
                                **chat_options(call, target)}
        if call.stream:
            body["stream"] = True
        return self.post(target, "chat", body, stream=call.stream)

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        unknown = sorted(set(call.params) - EMBEDDING_PARAMS)
        if unknown and not target.drop_params:
            raise ParamNotSupported(f"cohere embeddings do not support: {', '.join(unknown)}", param=unknown[0])
        if not all(isinstance(item, str) for item in call.inputs):
            raise InvalidRequest("cohere embeddings take text inputs, not token arrays", param="input")
        body: dict[str, Any] = {"model": target.model, "texts": list(call.inputs),
                                "input_type": call.params.get("input_type") or "search_document",
                                "embedding_types": ["float"]}
        if call.params.get("dimensions"):
            body["output_dimension"] = call.params["dimensions"]
        if call.params.get("truncate"):
            body["truncate"] = call.params["truncate"]
        return self.post(target, "embed", body)

    def translate_rerank_request(self, call: RerankCall, target: Target) -> UpstreamRequest:
        """A /v2/rerank request; documents that are not strings are sent as their text (or JSON)."""
        body: dict[str, Any] = {"model": target.model, "query": call.query,
                                "documents": [document_text(document) for document in call.documents]}
        if call.top_n is not None:
            body["top_n"] = call.top_n
        if call.max_tokens_per_doc is not None:
            body["max_tokens_per_doc"] = call.max_tokens_per_doc
        return self.post(target, "rerank", body)

    # --- responses ---------------------------------------------------------------------------------

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        usage = usage_from_cohere(data.get("usage"))
        choice = {"index": 0, "message": message_from(data.get("message") or {}),
                  "finish_reason": FINISH_REASONS.get(str(data.get("finish_reason")), "stop"), "logprobs": None}
        return ChatCompletion(body={"id": str(data.get("id") or ""), "object": "chat.completion",
                                    "created": int(time.time()), "model": target.model, "choices": [choice],
                                    "usage": usage.as_openai()}, usage=usage)

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        data = jsonutil.loads(body)
        embeddings = data.get("embeddings")
        vectors = embeddings.get("float") or [] if isinstance(embeddings, Mapping) else embeddings or []
        billed = (data.get("meta") or {}).get("billed_units") or {}
        usage = Usage(prompt_tokens=int(billed.get("input_tokens") or 0))
        return EmbeddingResult(body=dict(embedding_list(vectors, model=target.model, usage=usage)), usage=usage)

    def parse_rerank_response(self, status: int, body: bytes, call: RerankCall) -> RerankResult:
        """The Cohere/LiteLLM rerank shape; documents are echoed back when `return_documents` asks."""
        data = jsonutil.loads(body)
        results = []
        for item in data.get("results") or []:
            result: dict[str, Any] = {"index": int(item["index"]), "relevance_score": float(item["relevance_score"])}
            if call.return_documents and 0 <= result["index"] < len(call.documents):
                result["document"] = {"text": document_text(call.documents[result["index"]])}
            results.append(result)
        meta = dict(data.get("meta") or {})
        units = int((meta.get("billed_units") or {}).get("search_units") or 0)
        rerank: RerankBody = {"id": str(data.get("id") or ""), "results": results, "meta": meta}  # type: ignore[typeddict-item]
        return RerankResult(body=rerank, search_units=units)

    # --- streams -----------------------------------------------------------------------------------

    def new_stream_state(self) -> StreamState:
        return BasicStreamState(created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        if not frame.data or frame.data == b"[DONE]":
            return []
        event = jsonutil.loads(frame.data)
        kind = event.get("type") or frame.event
        if kind == "message-start":
            state.response_id = str(event.get("id") or "")
            return [stream_chunk(state, {"role": "assistant", "content": ""})]
        if kind == "message-end":
            return self.end_chunks(event.get("delta") or {}, state)
        delta = stream_delta(str(kind), event, state)
        return [stream_chunk(state, delta)] if delta else []

    def end_chunks(self, delta: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
        """The finish chunk and the usage chunk for `message-end` (or the mapped error it reports)."""
        if delta.get("error") or delta.get("finish_reason") == "ERROR":
            raise UpstreamError(str(delta.get("error") or "cohere stream failed"), status=500, provider=self.prefix)
        usage = usage_from_cohere(delta.get("usage"))
        finish = FINISH_REASONS.get(str(delta.get("finish_reason")), "stop")
        return finish_chunks(state, finish, usage)


    # --- errors ------------------------------------------------------------------------------------

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"message": body.decode("utf-8", "replace")[:500]}
        message = str((data.get("message") if isinstance(data, Mapping) else None) or f"upstream returned {status}")
        if status == 498:  # Cohere's "invalid token" status is an authentication failure
            status = 401
        code = error_code_for(status, message, None)
        if code is None:
            code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        return UpstreamError(message, status=status, error_type=ERROR_TYPES.get(status, "api_error"), code=code,
                             retry_after=retry_after_seconds(headers), provider=self.prefix)


def stream_delta(kind: str, event: Mapping[str, Any], state: BasicStreamState) -> dict[str, Any] | None:
    """The OpenAI delta for a content, tool-plan or tool-call event (None for events with nothing to say)."""
    message = (event.get("delta") or {}).get("message") or {}
    if kind in ("content-start", "content-delta"):
        content = message.get("content") or {}
        if content.get("thinking"):
            return {"reasoning_content": str(content["thinking"])}
        return {"content": str(content["text"])} if content.get("text") else None
    if kind == "tool-plan-delta":
        return {"content": str(message["tool_plan"])} if message.get("tool_plan") else None
    if kind == "tool-call-start":
        call = message.get("tool_calls") or {}
        index = state.tool_index.setdefault(str(event.get("index", len(state.tool_index))), len(state.tool_index))
        function = call.get("function") or {}
        return {"tool_calls": [{"index": index, "id": call.get("id", ""), "type": "function",
                                "function": {"name": function.get("name", ""),
                                             "arguments": function.get("arguments") or ""}}]}
    if kind == "tool-call-delta":
        arguments = ((message.get("tool_calls") or {}).get("function") or {}).get("arguments")
        index = state.tool_index.get(str(event.get("index")), 0)
        return {"tool_calls": [{"index": index, "function": {"arguments": str(arguments)}}]} if arguments else None
    return None


def document_text(document: Any) -> str:
    """A rerank document as the string Cohere v2 wants."""
    if isinstance(document, str):
        return document
    if isinstance(document, Mapping) and isinstance(document.get("text"), str) and len(document) == 1:
        return str(document["text"])
    return jsonutil.dumps(document).decode()
