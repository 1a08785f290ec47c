"""OpenAI chat and embedding requests -> Bedrock Converse / InvokeModel bodies.

Claude on Bedrock takes Anthropic's `thinking` object and the same image data, so the helpers
for those come from the Anthropic adapter.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal, TypedDict

from apps.core.errors import InvalidRequest
from apps.providers.adapters.anthropic.convert import (
    UNSUPPORTED,
    max_tokens_for,
    parse_data_url,
    reject_unsupported,
    stop_list,
    thinking_blocks,
    thinking_config,
    tool_arguments,
)
from apps.providers.base import ChatCall, EmbeddingCall, Message, ParamNotSupported, Target

CACHE_POINT = {"cachePoint": {"type": "default"}}
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}
# Converse's own top-level fields, passed through when a caller sends them.
CONVERSE_FIELDS = ("guardrailConfig", "performanceConfig", "requestMetadata", "promptVariables",
                   "additionalModelResponseFieldPaths", "serviceTier")
HANDLED = frozenset({"max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "tools", "tool_choice",
                     "parallel_tool_calls", "reasoning_effort", "thinking", "stream_options", "user", "metadata",
                     "store", "additionalModelRequestFields", *CONVERSE_FIELDS, *UNSUPPORTED})


class ConverseMessage(TypedDict):
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]


class InferenceConfig(TypedDict, total=False):
    maxTokens: int
    temperature: float
    topP: float
    stopSequences: list[str]


class ConverseBody(TypedDict, total=False):
    messages: list[ConverseMessage]
    system: list[dict[str, Any]]
    inferenceConfig: InferenceConfig
    toolConfig: dict[str, Any]
    additionalModelRequestFields: dict[str, Any]
    guardrailConfig: dict[str, Any]
    performanceConfig: dict[str, Any]
    requestMetadata: dict[str, str]
    promptVariables: dict[str, Any]
    additionalModelResponseFieldPaths: list[str]
    serviceTier: dict[str, Any]


def model_id(model: str) -> str:
    """The Bedrock model id: LiteLLM's `converse/` route prefix is dropped; profiles and ARNs stay as is."""
    return model.removeprefix("converse/")


def is_anthropic(model: str) -> bool:
    """Claude models (base ids, `us.`/`eu.`/`apac.` inference profiles, ARNs naming them)."""
    return "anthropic." in model or "claude" in model


# --- messages ----------------------------------------------------------------------------------------

def content_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI content as Converse blocks; a part's `cache_control` becomes a cachePoint after it."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        block = part_block(part)
        if block is None:
            continue
        blocks.append(block)
        if "cache_control" in part:
            blocks.append(dict(CACHE_POINT))
    return blocks


def part_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    """One OpenAI content part (text or data: URL image) as a Converse block."""
    kind = part.get("type")
    if kind == "text":
        return {"text": part["text"]} if part.get("text") else None
    if kind == "image_url":
        image = part["image_url"]
        url = image if isinstance(image, str) else image["url"]
        data = parse_data_url(url)
        if data is None or data[0] not in IMAGE_FORMATS:
            raise InvalidRequest("Bedrock Converse takes images as base64 data: URLs (png, jpeg, gif, webp)",
                                 param="messages")
        return {"image": {"format": IMAGE_FORMATS[data[0]], "source": {"bytes": data[1]}}}
    raise InvalidRequest(f"Bedrock Converse does not take {kind!r} content parts", param="messages")


def assistant_blocks(message: Message) -> list[dict[str, Any]]:
    """Reasoning blocks (with signatures) first, then text, then toolUse."""
    blocks: list[dict[str, Any]] = []
    for thinking in thinking_blocks(message):
        if thinking.get("type") == "redacted_thinking":
            blocks.append({"reasoningContent": {"redactedContent": thinking["data"]}})
        else:
            text = {"text": thinking.get("thinking", ""), "signature": thinking.get("signature", "")}
            blocks.append({"reasoningContent": {"reasoningText": text}})
    blocks += content_blocks(message.get("content"))
    for call in message.get("tool_calls") or []:
        function = call["function"]
        blocks.append({"toolUse": {"toolUseId": call["id"], "name": function["name"],
                                   "input": tool_arguments(function.get("arguments"), function["name"])}})
    return blocks


def tool_result_block(message: Message) -> dict[str, Any]:
    """An OpenAI `role: tool` message as a toolResult block."""
    content = message.get("content")
    results = [{"text": content}] if isinstance(content, str) else [
        block for block in content_blocks(content) if "cachePoint" not in block]
    return {"toolResult": {"toolUseId": message["tool_call_id"], "content": results or [{"text": ""}]}}


def convert_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[ConverseMessage]]:
    """System blocks lifted out; turns merged so roles alternate, as Converse requires."""
    system: list[dict[str, Any]] = []
    turns: list[ConverseMessage] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system += content_blocks(message.get("content"))
            continue
        if role == "assistant":
            blocks, turn_role = assistant_blocks(message), "assistant"
        elif role == "tool":
            blocks, turn_role = [tool_result_block(message)], "user"
        elif role == "user":
            blocks, turn_role = content_blocks(message.get("content")), "user"
        else:
            raise InvalidRequest(f"unsupported message role {role!r}", param="messages")
        if blocks and "cache_control" in message:
            blocks.append(dict(CACHE_POINT))
        if not blocks:
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})  # type: ignore[typeddict-item]
    return system, turns


# --- tools, inference settings ---------------------------------------------------------------------

def tool_config(params: Mapping[str, Any], turns: list[ConverseMessage]) -> dict[str, Any] | None:
    """Converse toolConfig; `tool_choice: none` leaves tools out unless the history needs them declared."""
    tools = params.get("tools") or []
    choice = params.get("tool_choice")
    uses_tools = any("toolUse" in block or "toolResult" in block for turn in turns for block in turn["content"])
    if not tools or (choice == "none" and not uses_tools):
        return None
    specs: list[dict[str, Any]] = []
    for tool in tools:
        function = tool["function"]
        spec: dict[str, Any] = {"name": function["name"],
                                "inputSchema": {"json": function.get("parameters") or {"type": "object",
                                                                                       "properties": {}}}}
        if function.get("description"):
            spec["description"] = function["description"]
        specs.append({"toolSpec": spec})
        if "cache_control" in tool:
            specs.append(dict(CACHE_POINT))
    config: dict[str, Any] = {"tools": specs}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        config["toolChoice"] = {"tool": {"name": choice["function"]["name"]}}
    elif choice not in (None, "none"):
        raise InvalidRequest(f"unsupported tool_choice {choice!r}", param="tool_choice")
    return config


def inference_config(call: ChatCall, thinking: Mapping[str, Any] | None) -> InferenceConfig:
    """maxTokens (defaulted only when a thinking budget needs room), temperature, topP, stopSequences."""
    params = call.params
    config: InferenceConfig = {}
    if call.max_tokens is not None or thinking:
        config["maxTokens"] = max_tokens_for(call, thinking)
    if params.get("temperature") is not None:
        config["temperature"] = params["temperature"]
    if params.get("top_p") is not None:
        config["topP"] = params["top_p"]
    stops = stop_list(params.get("stop"))
    if stops:
        config["stopSequences"] = stops
    return config


def additional_fields(params: Mapping[str, Any], *, model: str,
                      thinking: dict[str, Any] | None) -> dict[str, Any]:
    """Model-specific fields: Claude's `thinking`, other models' `reasoning_effort`, and unknown params."""
    fields: dict[str, Any] = dict(params.get("additionalModelRequestFields") or {})
    if thinking is not None and is_anthropic(model):
        fields["thinking"] = thinking
    elif params.get("reasoning_effort") is not None:
        fields["reasoning_effort"] = params["reasoning_effort"]
    fields.update({key: value for key, value in params.items() if key not in HANDLED})  # top_k and the like
    return fields


def converse_body(call: ChatCall, target: Target) -> ConverseBody:
    """The Converse / ConverseStream body for an OpenAI chat call."""
    params = call.params
    reject_unsupported(params, provider="Bedrock Converse", drop=target.drop_params)
    if params.get("parallel_tool_calls") is False and not target.drop_params:
        raise ParamNotSupported("Bedrock Converse cannot turn off parallel tool calls; remove "
                                "parallel_tool_calls or set drop_params", param="parallel_tool_calls")
    model = model_id(target.model)
    system, turns = convert_messages(call.messages)
    thinking = thinking_config(params) if is_anthropic(model) else None
    body: ConverseBody = {"messages": turns}
    if system:
        body["system"] = system
    inference = inference_config(call, thinking)
    if inference:
        body["inferenceConfig"] = inference
    tools = tool_config(params, turns)
    if tools:
        body["toolConfig"] = tools
    fields = additional_fields(params, model=model, thinking=thinking)
    if fields:
        body["additionalModelRequestFields"] = fields
    body.update({name: params[name] for name in CONVERSE_FIELDS if name in params})  # type: ignore[typeddict-item]
    return body


# --- embeddings ------------------------------------------------------------------------------------

def embedding_body(call: EmbeddingCall, target: Target) -> dict[str, Any]:
    """InvokeModel body: Titan takes one `inputText` per call, Cohere a batch of `texts`."""
    model = model_id(target.model)
    inputs = call.inputs
    reject_embedding_params(call.params, model=model, drop=target.drop_params)
    if not all(isinstance(text, str) for text in inputs):
        raise InvalidRequest("Bedrock embeddings take text input, not token arrays", param="input")
    if "cohere.embed" in model:
        return cohere_embedding_body(call, model)
    if "amazon.titan-embed" not in model:
        raise InvalidRequest(f"no Bedrock embedding format known for {model!r} (titan-embed, cohere.embed)",
                             param="model")
    if len(inputs) != 1:  # the transport sends several through `split_embedding`, one call each
        raise InvalidRequest("Titan embedding models take one input per request", param="input")
    body: dict[str, Any] = {"inputText": inputs[0]}
    if "v2" in model:
        if call.params.get("dimensions") is not None:
            body["dimensions"] = call.params["dimensions"]
        if "normalize" in call.params:
            body["normalize"] = call.params["normalize"]
    return body


def cohere_embedding_body(call: EmbeddingCall, model: str) -> dict[str, Any]:
    """Cohere Embed on Bedrock: a batch of `texts`; Embed v4 also takes `dimensions` as `output_dimension`."""
    body: dict[str, Any] = {"texts": call.inputs, "input_type": call.params.get("input_type", "search_document")}
    if "truncate" in call.params:
        body["truncate"] = call.params["truncate"]
    if call.params.get("dimensions") is not None and takes_dimensions(model):
        body["output_dimension"] = call.params["dimensions"]
    return body


def takes_dimensions(model: str) -> bool:
    """Titan Text Embeddings v2 and Cohere Embed v4 take an output size; Titan v1 and Cohere v3 do not."""
    return ("amazon.titan-embed" in model and "v2" in model) or "cohere.embed-v4" in model


def titan_calls(call: EmbeddingCall, target: Target) -> list[EmbeddingCall]:
    """Titan embeds one text per InvokeModel call, so a call with several texts becomes one call per text."""
    inputs = call.inputs
    if ("amazon.titan-embed" not in model_id(target.model) or len(inputs) < 2
            or not all(isinstance(text, str) for text in inputs)):
        return [call]
    return [replace(call, input=text) for text in inputs]


def reject_embedding_params(params: Mapping[str, Any], *, model: str, drop: bool) -> None:
    """`dimensions` only exists on Titan v2 and Cohere Embed v4; say so unless dropping.

    `encoding_format: base64` is accepted: Bedrock answers floats, which the transport packs as base64.
    """
    if drop:
        return
    if params.get("dimensions") is not None and not takes_dimensions(model):
        raise ParamNotSupported(f"{model} does not take 'dimensions'", param="dimensions")
    if params.get("encoding_format") not in (None, "float", "base64"):
        raise ParamNotSupported("Bedrock embeddings only return float vectors", param="encoding_format")
