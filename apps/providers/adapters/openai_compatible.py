"""Shared behaviour for OpenAI-compatible presets (Groq, Together, vLLM, Azure, ...).

A preset is an `OpenAIAdapter` whose upstream speaks the same wire format with small differences:
a default base URL (or none, when the caller must give one), parameters the upstream rejects, and
usage that some upstreams put on a content chunk instead of a final `choices: []` chunk.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.core.errors import GatewayError
from apps.providers.adapters.openai import OpenAIAdapter, usage_from_openai
from apps.providers.base import (
    BasicStreamState,
    ChatCall,
    ChatChunk,
    ChatCompletion,
    Frame,
    ParamNotSupported,
    StreamState,
    Target,
    UpstreamError,
    Usage,
)


class ApiBaseRequired(GatewayError):
    """A deployment of a provider with no public endpoint (vLLM, Azure) was configured without `api_base`."""

    status = 500
    type = "api_error"
    code = "api_base_required"


def unsupported_error(*, provider: str, names: list[str]) -> ParamNotSupported:
    """The error for parameters an upstream would reject, naming every one of them."""
    listed = ", ".join(names)
    return ParamNotSupported(f"{provider} does not support the parameter(s): {listed}. "
                             "Remove them or set drop_params to drop them.", param=names[0])


class OpenAICompatibleAdapter(OpenAIAdapter):
    """An OpenAI-compatible upstream with its own defaults; subclasses set the class attributes."""

    default_api_base: ClassVar[str] = ""
    # The SDK's env fallbacks: never OpenAI's key, which must not leak to another provider.
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ()
    # Parameters the upstream answers with a 400; set to a value other than None/False they are refused
    # (or dropped under drop_params) before the call is sent.
    unsupported_params: ClassVar[frozenset[str]] = frozenset()
    # Whether the upstream accepts `stream_options` (some return usage on the last chunk regardless).
    sends_stream_options: ClassVar[bool] = True

    def base_url(self, target: Target) -> str:
        base = target.api_base or self.default_api_base
        if not base:
            raise ApiBaseRequired(f"provider {self.prefix!r} has no default endpoint: set api_base on the "
                                  "deployment (for example http://localhost:8000/v1)")
        return base.rstrip("/")

    # --- requests ---------------------------------------------------------------------------------

    def unsupported(self, params: Mapping[str, Any]) -> list[str]:
        """Names of the parameters in `params` this upstream does not accept."""
        return sorted(name for name in self.unsupported_params if params.get(name) not in (None, False))

    def checked_params(self, call: ChatCall, target: Target) -> dict[str, Any]:
        """The call's parameters without the unsupported ones (drop_params) or an error naming them."""
        names = self.unsupported(call.params)
        if names and not target.drop_params:
            raise unsupported_error(provider=self.prefix, names=names)
        return {key: value for key, value in call.params.items() if key not in names}

    def chat_body(self, call: ChatCall, target: Target) -> dict[str, Any]:
        body = super().chat_body(replace(call, params=self.checked_params(call, target)), target)
        if not self.sends_stream_options:
            body.pop("stream_options", None)
        return body

    # --- responses --------------------------------------------------------------------------------

    def usage_from(self, raw: Mapping[str, Any] | None) -> Usage:
        """Normalise this upstream's usage object (hook for vendor fields such as cache hits)."""
        return usage_from_openai(raw)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        return ChatCompletion(body=data, usage=self.usage_from(data.get("usage")))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        if not frame.data:
            return []
        if frame.data == b"[DONE]":
            return self.pending_usage(state)
        data = jsonutil.loads(frame.data)
        if isinstance(data, dict) and data.get("error"):
            raise self.stream_error(data)
        return self.split_usage(data, state)

    def split_usage(self, data: dict[str, Any], state: BasicStreamState) -> list[ChatChunk]:
        """Pass a chunk on; usage riding on a content chunk moves to its own final `choices: []` chunk."""
        raw = data.get("usage")
        if not raw:
            return [ChatChunk(body=data)]
        usage = self.usage_from(raw)
        if not data.get("choices"):
            state.scratch["usage_sent"] = True
            return [ChatChunk(body=data, usage=usage)]
        body = {key: value for key, value in data.items() if key != "usage"}
        state.usage = usage
        state.scratch["usage_chunk"] = {**{k: data[k] for k in ("id", "object", "created", "model") if k in data},
                                        "choices": [], "usage": raw}
        if any(choice.get("finish_reason") for choice in data["choices"]):
            return [ChatChunk(body=body), *self.pending_usage(state)]
        return [ChatChunk(body=body)]

    def pending_usage(self, state: BasicStreamState) -> list[ChatChunk]:
        """The held-back usage chunk, once, if no upstream chunk delivered usage on its own."""
        if state.usage is None or state.scratch.get("usage_sent"):
            return []
        state.scratch["usage_sent"] = True
        return [ChatChunk(body=state.scratch["usage_chunk"], usage=state.usage)]

    # --- errors -----------------------------------------------------------------------------------

    def stream_error(self, data: Mapping[str, Any]) -> UpstreamError:
        """A mid-stream error event; a numeric `code` in it is the status the upstream meant."""
        error = data.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code <= 599 else 500
        return self.error_from_body(status, {}, data)

    def error_from_body(self, status: int, headers: Mapping[str, str], data: Mapping[str, Any]) -> UpstreamError:
        error = super().error_from_body(status, headers, data)
        if error.instance_code is not None and error.instance_code.isdigit():
            # Some upstreams (Azure, OpenRouter) put the HTTP status in `code`; it says nothing more.
            error.instance_code = None
        return error
