"""OpenAI chat requests to Gemini `generateContent` bodies (shared by `gemini/` and `vertex_ai/`).

Kept apart from `gemini.py` only for size; both modules belong to the one Gemini adapter family.
"""
from __future__ import annotations

import base64
import binascii
import mimetypes
from collections.abc import Mapping
from typing import Any, TypedDict

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.base import ChatCall, Message, ParamNotSupported, Target, ToolCall

SIGNATURE_FIELD = "thought_signature"
# Tool-call ids carry the signature too (base64url of its bytes) because many OpenAI clients drop
# unknown fields such as `provider_specific_fields` but always echo the id back.
ID_SIGNATURE_MARK = "__thought__"
# Google's documented stand-in for function calls Gemini did not produce (history from another model).
DUMMY_SIGNATURE = "skip_thought_signature_validator"
# Schema keys the Gemini OpenAPI-subset `Schema` rejects.
SCHEMA_DROP = frozenset({"$schema", "$id", "$comment", "additionalProperties", "strict", "$defs", "definitions"})
REASONING_BUDGETS = {"none": 0, "minimal": 128, "low": 1024, "medium": 2048, "high": 4096}
TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
SIMPLE_PARAMS = {"temperature": "temperature", "top_p": "topP", "top_k": "topK", "n": "candidateCount",
                 "seed": "seed", "presence_penalty": "presencePenalty", "frequency_penalty": "frequencyPenalty"}
HANDLED_PARAMS = frozenset({*SIMPLE_PARAMS, "max_tokens", "max_completion_tokens", "stop", "response_format",
                            "tools", "tool_choice", "reasoning_effort", "thinking", "safety_settings",
                            "cached_content"})
# Accepted and harmless to ignore: they change nothing about the answer.
IGNORED_PARAMS = frozenset({"user", "metadata", "stream_options", "parallel_tool_calls", "store"})


class GeminiPart(TypedDict, total=False):
    text: str
    thought: bool
    thoughtSignature: str
    inlineData: dict[str, str]
    fileData: dict[str, str]
    functionCall: dict[str, Any]
    functionResponse: dict[str, Any]


class GeminiContent(TypedDict, total=False):
    role: str
    parts: list[GeminiPart]


class GenerateContentBody(TypedDict, total=False):
    contents: list[GeminiContent]
    systemInstruction: GeminiContent
    tools: list[dict[str, Any]]
    toolConfig: dict[str, Any]
    generationConfig: dict[str, Any]
    safetySettings: list[dict[str, Any]]
    cachedContent: str


# --- thought signatures -----------------------------------------------------------------------------

def tool_call_id(base: str, signature: str | None) -> str:
    """An OpenAI tool-call id that also carries the part's thought signature, losslessly."""
    if not signature:
        return base
    encoded = base64.urlsafe_b64encode(signature.encode()).decode("ascii").rstrip("=")
    return f"{base}{ID_SIGNATURE_MARK}{encoded}"


def signature_from_id(call_id: str) -> str | None:
    """The thought signature embedded by `tool_call_id`, or None."""
    _, mark, encoded = call_id.partition(ID_SIGNATURE_MARK)
    if not mark or not encoded:
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def signature_of(tool_call: Mapping[str, Any]) -> str | None:
    """The signature a client sent back on a tool call: the explicit field first, then the id."""
    fields = tool_call.get("provider_specific_fields")
    if isinstance(fields, Mapping) and fields.get(SIGNATURE_FIELD):
        return str(fields[SIGNATURE_FIELD])
    return signature_from_id(str(tool_call.get("id") or ""))


# --- messages ---------------------------------------------------------------------------------------

def text_of(content: Any) -> str:
    """The text of a message content (string, None, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(part.get("text") or "") for part in content
                   if isinstance(part, Mapping) and part.get("type") in ("text", "input_text"))


def media_part(url: str, mime_type: str | None) -> GeminiPart:
    """An image/file reference: data URLs inline, anything else by URI."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        mime = header[5:].split(";")[0] or mime_type or "application/octet-stream"
        if ";base64" not in header:
            data = base64.b64encode(data.encode()).decode("ascii")
        return {"inlineData": {"mimeType": mime, "data": data}}
    guessed = mime_type or mimetypes.guess_type(url.split("?")[0])[0] or "image/jpeg"
    return {"fileData": {"mimeType": guessed, "fileUri": url}}


def content_part(part: Mapping[str, Any]) -> GeminiPart:
    """One OpenAI content part as a Gemini part."""
    kind = part.get("type")
    if kind in ("text", "input_text"):
        return {"text": str(part.get("text") or "")}
    if kind == "image_url":
        image = part.get("image_url")
        url, fmt = (image.get("url"), image.get("format")) if isinstance(image, Mapping) else (image, None)
        return media_part(str(url or ""), fmt)
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        return {"inlineData": {"mimeType": f"audio/{audio.get('format') or 'wav'}", "data": str(audio.get("data"))}}
    if kind == "file":
        file = part.get("file") or {}
        return media_part(str(file.get("file_data") or file.get("file_id") or ""), file.get("format"))
    raise InvalidRequest(f"content part type {kind!r} is not supported by Gemini", param="messages")


def user_parts(content: Any) -> list[GeminiPart]:
    """Gemini parts for a user message content."""
    if isinstance(content, list):
        return [content_part(part) for part in content if isinstance(part, Mapping)]
    return [{"text": text_of(content)}]


def call_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments (a JSON string) as the object Gemini wants."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw:
        return {}
    try:
        value = jsonutil.loads(raw)
    except jsonutil.JSONDecodeError:
        raise InvalidRequest("tool call arguments must be a JSON object", param="messages") from None
    if not isinstance(value, dict):
        raise InvalidRequest("tool call arguments must be a JSON object", param="messages")
    return value


def assistant_parts(message: Message, *, dummy_signatures: bool) -> list[GeminiPart]:
    """Text and functionCall parts, each with the thought signature Gemini gave it."""
    parts: list[GeminiPart] = []
    text = text_of(message.get("content"))
    fields = message.get("provider_specific_fields") or {}  # type: ignore[typeddict-item]
    if text:
        part: GeminiPart = {"text": text}
        if isinstance(fields, Mapping) and fields.get(SIGNATURE_FIELD):
            part["thoughtSignature"] = str(fields[SIGNATURE_FIELD])
        parts.append(part)
    calls: list[ToolCall] = message.get("tool_calls") or []
    signed = [signature_of(call) for call in calls]
    for position, call in enumerate(calls):
        function: Mapping[str, Any] = call.get("function") or {}
        part = {"functionCall": {"name": function.get("name", ""), "args": call_arguments(function.get("arguments"))}}
        signature = signed[position]
        if not signature and position == 0 and dummy_signatures and not any(signed):
            signature = DUMMY_SIGNATURE
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def tool_response(content: Any) -> dict[str, Any]:
    """A tool result as Gemini's `response` object: JSON objects as is, anything else under `output`."""
    text = text_of(content)
    try:
        value = jsonutil.loads(text) if text else None
    except jsonutil.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"output": text}


def tool_names(messages: list[Message]) -> dict[str, str]:
    """Tool-call id -> function name, so tool results can name the function they answer."""
    return {str(call.get("id")): function_name(call) for message in messages for call in (message.get("tool_calls") or [])}


def function_name(call: ToolCall) -> str:
    function: Mapping[str, Any] = call.get("function") or {}
    return str(function.get("name", ""))


def to_content(message: Message, *, names: Mapping[str, str], dummy_signatures: bool) -> GeminiContent:
    """One OpenAI message as a Gemini content (tool results become user functionResponse parts)."""
    role = message.get("role")
    if role == "user":
        return {"role": "user", "parts": user_parts(message.get("content"))}
    if role == "assistant":
        return {"role": "model", "parts": assistant_parts(message, dummy_signatures=dummy_signatures)}
    if role in ("tool", "function"):
        name = names.get(str(message.get("tool_call_id") or "")) or message.get("name") or ""
        return {"role": "user", "parts": [{"functionResponse": {
            "name": name, "response": tool_response(message.get("content"))}}]}
    raise InvalidRequest(f"message role {role!r} is not supported by Gemini", param="messages")


def convert_messages(messages: list[Message], *, model: str) -> tuple[list[GeminiContent], GeminiContent | None]:
    """`contents` and `systemInstruction` for OpenAI messages."""
    names = tool_names(messages)
    dummy = model.split("/")[-1].startswith("gemini-3")  # only Gemini 3 validates signatures
    system: list[GeminiPart] = []
    contents: list[GeminiContent] = []
    previous_role = ""
    for message in messages:
        role = str(message.get("role"))
        if role in ("system", "developer"):
            system.append({"text": text_of(message.get("content"))})
            continue
        content = to_content(message, names=names, dummy_signatures=dummy)
        if not content["parts"]:  # an empty assistant turn; Gemini rejects contents without parts
            continue
        if role == previous_role and role in ("tool", "function", "user", "assistant"):
            # One turn per role: parallel tool results must answer their calls in a single content.
            contents[-1]["parts"].extend(content["parts"])
        else:
            contents.append(content)
        previous_role = role
    return contents, ({"parts": system} if system else None)


# --- tools, schemas and generation config ----------------------------------------------------------

def clean_schema(schema: Any, defs: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """A JSON schema in Gemini's OpenAPI subset: local `$ref`s inlined, unsupported keys dropped."""
    if isinstance(schema, list):
        return [clean_schema(item, defs, depth) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    if defs is None:
        defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and depth < 16:
        resolved = defs.get(ref.rsplit("/", 1)[-1])
        if resolved is not None:
            return clean_schema(resolved, defs, depth + 1)
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key in SCHEMA_DROP or key == "$ref":
            continue
        if key == "properties" and isinstance(value, Mapping):  # property names are data, not keywords
            cleaned[key] = {name: clean_schema(sub, defs, depth) for name, sub in value.items()}
        elif key == "type" and isinstance(value, list):  # ["string", "null"] -> nullable string
            kinds = [kind for kind in value if kind != "null"]
            cleaned[key] = kinds[0] if len(kinds) == 1 else kinds
            if len(kinds) < len(value):
                cleaned["nullable"] = True
        elif key in ("enum", "required", "default", "example", "const"):
            cleaned[key] = value
        else:
            cleaned[key] = clean_schema(value, defs, depth)
    return cleaned


def convert_tools(tools: list[Any]) -> list[dict[str, Any]]:
    """OpenAI function tools as one `functionDeclarations` tool; Gemini-native tools pass through."""
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, Mapping):
            continue
        if tool.get("type") != "function":
            native.append(dict(tool))
            continue
        function = tool.get("function") or {}
        declaration: dict[str, Any] = {"name": function.get("name", "")}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parameters"] = clean_schema(function["parameters"])
        declarations.append(declaration)
    return ([{"functionDeclarations": declarations}] if declarations else []) + native


def tool_config(choice: Any) -> dict[str, Any] | None:
    """OpenAI `tool_choice` as Gemini's `toolConfig`."""
    if isinstance(choice, str) and choice in TOOL_MODES:
        return {"functionCallingConfig": {"mode": TOOL_MODES[choice]}}
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        if name:
            return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    if choice is None:
        return None
    raise InvalidRequest(f"unsupported tool_choice {choice!r}", param="tool_choice")


def response_format_config(response_format: Any) -> dict[str, Any]:
    """`responseMimeType` / `responseSchema` for an OpenAI `response_format`."""
    if not isinstance(response_format, Mapping) or response_format.get("type") in (None, "text"):
        return {}
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format.get("type") == "json_schema" and schema:
        config["responseSchema"] = clean_schema(schema)
    return config


def thinking_config(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """`reasoning_effort` or Anthropic-style `thinking` as Gemini's `thinkingConfig`."""
    thinking = params.get("thinking")
    if isinstance(thinking, Mapping):
        if thinking.get("type") == "disabled":
            return {"thinkingBudget": 0}
        return {"thinkingBudget": int(thinking.get("budget_tokens") or -1), "includeThoughts": True}
    effort = params.get("reasoning_effort")
    if effort is None:
        return None
    if effort not in REASONING_BUDGETS:
        raise InvalidRequest(f"unsupported reasoning_effort {effort!r}", param="reasoning_effort")
    budget = REASONING_BUDGETS[effort]
    return {"thinkingBudget": budget, "includeThoughts": True} if budget else {"thinkingBudget": 0}


def generation_config(call: ChatCall) -> dict[str, Any]:
    """Sampling and output settings as Gemini's `generationConfig`."""
    params = call.params
    config: dict[str, Any] = {wire: params[name] for name, wire in SIMPLE_PARAMS.items()
                              if params.get(name) is not None}
    if call.max_tokens is not None:
        config["maxOutputTokens"] = call.max_tokens
    stop = params.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    config.update(response_format_config(params.get("response_format")))
    thinking = thinking_config(params)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def check_params(params: Mapping[str, Any], target: Target) -> None:
    """Refuse parameters Gemini lacks, unless the deployment drops them."""
    unknown = sorted(name for name, value in params.items()
                     if value not in (None, False) and name not in HANDLED_PARAMS | IGNORED_PARAMS)
    if unknown and not target.drop_params:
        raise ParamNotSupported(f"{target.provider} does not support parameters: {', '.join(unknown)}",
                                param=unknown[0])


def generate_content_body(call: ChatCall, target: Target) -> GenerateContentBody:
    """The full `generateContent` request body for an OpenAI chat call."""
    check_params(call.params, target)
    contents, system = convert_messages(call.messages, model=target.model)
    body: GenerateContentBody = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    tools = convert_tools(call.params.get("tools") or [])
    if tools:
        body["tools"] = tools
    choice = tool_config(call.params.get("tool_choice")) if tools else None
    if choice is not None:
        body["toolConfig"] = choice
    config = generation_config(call)
    if config:
        body["generationConfig"] = config
    safety = call.params.get("safety_settings") or target.extra.get("safety_settings")
    if safety:
        body["safetySettings"] = list(safety)
    if call.params.get("cached_content"):
        body["cachedContent"] = str(call.params["cached_content"])
    return body
