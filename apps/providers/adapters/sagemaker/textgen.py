"""`sagemaker/<endpoint>`: SageMaker text-generation endpoints (Hugging Face TGI or DJL LMI containers),
and embedding endpoints (`{"inputs": [...]}` in, vectors out).

Request: `{"inputs": prompt, "parameters": {...}}` (plus `"stream": true` on the response-stream path),
the messages turned into a prompt by `prompt_templates`. Answer: `[{"generated_text": ...}]` (or one
object; LMI's `generation` too). Streams: TGI/LMI token events inside `PayloadPart`s. These containers
report no prompt tokens: the transport estimates them from the messages (`counts_prompt_tokens`), and
completion tokens are `details.generated_tokens`, the streamed token count, or an estimate from the text
(LiteLLM counts both with a tokenizer).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.sagemaker import runtime
from apps.providers.base import (
    BasicStreamState,
    CapabilityTable,
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    Frame,
    Framing,
    StreamState,
    Target,
    UpstreamError,
    UpstreamRequest,
    Usage,
    finish_chunks,
    stream_chunk,
)
from apps.providers.adapters.openai_compatible import unsupported_error
from apps.providers.embedding_format import embedding_list
from apps.providers.prompt_templates import chat_prompt
from apps.providers.tokens import text_tokens

FINISH_REASONS = {"length": "length", "eos_token": "stop", "stop_sequence": "stop", "stop": "stop"}
END_OF_TEXT = "<|endoftext|>"
# Text-generation parameters TGI and LMI take under their own names, sent as given.
NATIVE_PARAMS = frozenset({"top_k", "repetition_penalty", "do_sample", "return_full_text", "truncate", "typical_p",
                           "watermark", "details", "decoder_input_details", "best_of", "max_new_tokens"})
# Deployment options an SDK caller may pass as keywords: read from the Target, never sent as parameters.
IGNORED_PARAMS = frozenset({"user", "metadata", "stream_options", "store", "aws_sagemaker_allow_zero_temp",
                            "hf_model_name", "sagemaker_base_url", "model_id"})


def parameters(call: ChatCall, target: Target) -> dict[str, Any]:
    """OpenAI parameters in TGI's names, with LiteLLM's guards (temperature 0 -> 0.01, max_tokens 0 -> 1)."""
    params = call.params
    known = NATIVE_PARAMS | IGNORED_PARAMS | {"temperature", "top_p", "n", "stop", "seed", "max_tokens",
                                              "max_completion_tokens"}
    unknown = sorted(name for name, value in params.items() if value is not None and name not in known)
    if unknown and not target.drop_params:
        raise unsupported_error(provider=target.provider, names=unknown)
    out: dict[str, Any] = {name: params[name] for name in NATIVE_PARAMS if params.get(name) is not None}
    if params.get("temperature") is not None:
        zero_ok = params.get("aws_sagemaker_allow_zero_temp") or target.extra.get("aws_sagemaker_allow_zero_temp")
        out["temperature"] = params["temperature"] if params["temperature"] or zero_ok else 0.01
    for name in ("top_p", "seed"):
        if params.get(name) is not None:
            out[name] = params[name]
    if params.get("stop"):
        out["stop"] = [params["stop"]] if isinstance(params["stop"], str) else list(params["stop"])
    if call.max_tokens is not None:
        out["max_new_tokens"] = max(1, call.max_tokens)
    if isinstance(params.get("n"), int) and params["n"] > 1:
        out |= {"best_of": params["n"], "do_sample": True}
    return out


def generated(data: Any) -> tuple[str, Mapping[str, Any]]:
    """The generated text and `details` of a TGI / LMI answer."""
    first = data[0] if isinstance(data, list) and data else data
    first = first if isinstance(first, Mapping) else {}
    text = first.get("generated_text", first.get("generation", ""))
    return str(text or ""), first.get("details") or {}


class SageMakerAdapter(CapabilityTable):
    """InvokeEndpoint / InvokeEndpointWithResponseStream on text-generation containers."""

    prefix: ClassVar[str] = "sagemaker"
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ()
    extra_env: ClassVar[Mapping[str, tuple[str, ...]]] = runtime.REGION_FROM_ENV
    framing: ClassVar[Framing] = "aws-eventstream"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "usage_in_stream", "embeddings"})
    counts_prompt_tokens: ClassVar[bool] = False  # the transport estimates the prompt from the messages

    def prompt(self, call: ChatCall, target: Target) -> str:
        return chat_prompt(call.messages, model=str(target.extra.get("hf_model_name") or target.model))

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        body: dict[str, Any] = {"inputs": self.prompt(call, target), "parameters": parameters(call, target)}
        if call.stream:
            body["stream"] = True
        return runtime.runtime_request(target, body, stream=call.stream)

    def sign(self, request: UpstreamRequest, target: Target) -> UpstreamRequest:
        return runtime.sign(request, target)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        text, details = generated(jsonutil.loads(body))
        usage = Usage(completion_tokens=int(details.get("generated_tokens") or 0) or text_tokens(text))
        finish = FINISH_REASONS.get(str(details.get("finish_reason")), "stop")
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
                  "logprobs": None}
        return ChatCompletion(body={"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
                                    "created": int(time.time()), "model": target.model, "choices": [choice],
                                    "usage": usage.as_openai()}, usage=usage)

    def new_stream_state(self) -> StreamState:
        state = BasicStreamState(response_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()))
        state.scratch["lines"] = runtime.PayloadLines(self.prefix)
        return state

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        chunks: list[ChatChunk] = []
        for payload in state.scratch["lines"].feed(frame):
            chunks.extend(self.token_chunks(payload, state))
        return chunks

    def token_chunks(self, payload: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
        """One token event: its text; the last one (`details` or end-of-text) also finishes the stream."""
        if payload.get("error"):
            raise UpstreamError(str(payload["error"]), status=424, error_type="api_error", code="model_error",
                                provider=self.prefix)
        token = payload.get("token") or {}
        text = str(token.get("text") or "")
        details = payload.get("details") or {}
        state.scratch["generated"] = state.scratch.get("generated", 0) + (0 if token.get("special") else 1)
        if text == END_OF_TEXT or token.get("special"):
            text = ""
        first = not state.scratch.get("started")
        state.scratch["started"] = True
        chunks = [stream_chunk(state, {"role": "assistant", "content": text} if first else {"content": text})] \
            if text or first else []
        if details or payload.get("generated_text") is not None or token.get("text") == END_OF_TEXT:
            chunks.extend(self.finish(details, state))
        return chunks

    def finish(self, details: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
        if state.scratch.get("finished"):
            return []
        state.scratch["finished"] = True
        usage = Usage(completion_tokens=int(details.get("generated_tokens") or state.scratch["generated"]))
        finish = FINISH_REASONS.get(str(details.get("finish_reason")), "stop")
        return finish_chunks(state, finish, usage)


    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return runtime.sagemaker_error(status=status, headers=headers, body=body, provider=self.prefix)

    # --- embeddings (Hugging Face embedding containers: TEI, JumpStart) -----------------------------

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        """`{"inputs": [texts]}`, as LiteLLM sends it; the container's own options pass through."""
        if not all(isinstance(item, str) for item in call.inputs):
            raise InvalidRequest("sagemaker embeddings take text inputs, not token arrays", param="input")
        options = {name: value for name, value in call.params.items()
                   if value is not None and name not in ("encoding_format", "user", "dimensions")}
        return runtime.runtime_request(target, {"inputs": list(call.inputs), **options}, stream=False)

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        """`{"embedding": [[...]]}` (JumpStart), `{"embeddings": ...}` or TEI's bare list of vectors."""
        data = jsonutil.loads(body)
        vectors = data.get("embedding", data.get("embeddings")) if isinstance(data, Mapping) else data
        if not isinstance(vectors, list):
            raise UpstreamError("sagemaker embedding answer has no embedding list", status=502, provider=self.prefix)
        if vectors and not isinstance(vectors[0], list):
            vectors = [vectors]  # one input answered with one flat vector
        usage = Usage()  # no counts: the transport estimates them from the input
        return EmbeddingResult(body=dict(embedding_list(vectors, model=target.model, usage=usage)), usage=usage)
