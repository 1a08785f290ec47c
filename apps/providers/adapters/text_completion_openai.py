"""OpenAI's legacy `/v1/completions` served through our chat API (`text-completion-openai/gpt-3.5-turbo-instruct`).

The messages become one `prompt`: a lone message's text (or its token array, passed as is), else every
message's text joined by newlines. LiteLLM sends a list of strings for several messages, which the API
answers with one completion per string; one prompt gives the single answer a chat caller expects.
Answers and stream chunks are rewritten as `chat.completion` / `chat.completion.chunk` objects.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.providers.adapters.openai import OpenAIAdapter, usage_from_openai
from apps.providers.adapters.openai_compatible import unsupported_error
from apps.providers.base import (
    BasicStreamState,
    ChatCall,
    ChatChunk,
    ChatCompletion,
    Frame,
    Message,
    StreamState,
    Target,
    UpstreamRequest,
)

CHAT_ONLY_PARAMS = frozenset({"tools", "tool_choice", "functions", "function_call", "response_format",
                              "parallel_tool_calls", "modalities", "audio", "prediction", "reasoning_effort",
                              "web_search_options"})
RENAMED = {"max_completion_tokens": "max_tokens"}


def message_text(message: Message) -> str:
    """The text of one message (a string, or the text parts of a part list)."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return content if isinstance(content, str) else ""


def is_tokens(content: Any) -> bool:
    return isinstance(content, list) and bool(content) and all(isinstance(item, int) for item in content)


def prompt_for(messages: list[Message]) -> str | list[int]:
    """The `prompt` for a conversation (see the module doc)."""
    if len(messages) == 1 and is_tokens(messages[0].get("content")):
        tokens: list[int] = messages[0]["content"]
        return tokens
    return "\n".join(message_text(message) for message in messages)


def chat_logprobs(raw: Any) -> dict[str, Any] | None:
    """Legacy `{"tokens", "token_logprobs", "top_logprobs"}` as chat's `{"content": [...]}`."""
    if not isinstance(raw, Mapping) or not raw.get("tokens"):
        return None
    tops = raw.get("top_logprobs") or [None] * len(raw["tokens"])
    content = [{"token": token, "logprob": logprob, "bytes": list(str(token).encode()),
                "top_logprobs": [{"token": name, "logprob": value, "bytes": list(str(name).encode())}
                                 for name, value in (top or {}).items()]}
               for token, logprob, top in zip(raw["tokens"], raw.get("token_logprobs") or [], tops)]
    return {"content": content}


class TextCompletionOpenAIAdapter(OpenAIAdapter):
    """Chat calls answered by an OpenAI completions model (`gpt-3.5-turbo-instruct`, `davinci-002`)."""

    prefix: ClassVar[str] = "text-completion-openai"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "usage_in_stream"})

    def completion_params(self, call: ChatCall, target: Target) -> dict[str, Any]:
        """The call's parameters in the completions API's names; chat-only ones refused (or dropped)."""
        refused = sorted(name for name in CHAT_ONLY_PARAMS if call.params.get(name) is not None)
        if refused and not target.drop_params:
            raise unsupported_error(provider=self.prefix, names=refused)
        params = {RENAMED.get(name, name): value for name, value in call.params.items()
                  if name not in CHAT_ONLY_PARAMS and name != "top_logprobs"}
        if params.get("logprobs") is True:  # chat: a flag plus a count; completions: the count
            params["logprobs"] = int(call.params.get("top_logprobs") or 0)
        elif params.get("logprobs") is False:
            params.pop("logprobs")
        return params

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        body: dict[str, Any] = {"model": target.model, "prompt": prompt_for(call.messages),
                                **self.completion_params(call, target)}
        if call.stream:
            body["stream"] = True
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/completions", headers=self.headers(target),
                               body=jsonutil.dumps(body), stream=call.stream)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        choices = [{"index": int(choice.get("index") or index), "finish_reason": choice.get("finish_reason"),
                    "message": {"role": "assistant", "content": choice.get("text") or ""},
                    "logprobs": chat_logprobs(choice.get("logprobs"))}
                   for index, choice in enumerate(data.get("choices") or [])]
        usage = usage_from_openai(data.get("usage"))
        completion = {"id": str(data.get("id") or ""), "object": "chat.completion",
                      "created": int(data.get("created") or time.time()), "model": str(data.get("model") or target.model),
                      "choices": choices, "usage": usage.as_openai()}
        if data.get("system_fingerprint"):
            completion["system_fingerprint"] = data["system_fingerprint"]
        return ChatCompletion(body=completion, usage=usage)

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        if not frame.data or frame.data == b"[DONE]":
            return []
        data = jsonutil.loads(frame.data)
        if "error" in data and "choices" not in data:
            raise self.error_from_body(500, {}, data)
        started = state.scratch.setdefault("started", set())
        choices = []
        for choice in data.get("choices") or []:
            index = int(choice.get("index") or 0)
            delta: dict[str, Any] = {"content": choice.get("text") or ""}
            if index not in started:
                started.add(index)
                delta = {"role": "assistant", **delta}
            choices.append({"index": index, "delta": delta, "finish_reason": choice.get("finish_reason"),
                            "logprobs": chat_logprobs(choice.get("logprobs"))})
        body = {"id": str(data.get("id") or ""), "object": "chat.completion.chunk",
                "created": int(data.get("created") or state.created), "model": str(data.get("model") or ""),
                "choices": choices}
        raw_usage = data.get("usage")
        if raw_usage:
            usage = usage_from_openai(raw_usage)
            return [ChatChunk(body={**body, "usage": usage.as_openai()}, usage=usage)]
        return [ChatChunk(body=body)]
