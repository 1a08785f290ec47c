"""Request bodies to typed calls: OpenAI's validation rules, errors naming the bad field.

Hand-written rather than pydantic: one pass over a dict parsed by orjson costs a few microseconds,
and unknown fields must survive untouched to be forwarded to OpenAI-compatible upstreams.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.routing.chat_shapes import NAMED_ROLES, SHAPED_FIELDS, check_chat_shapes, check_message
from apps.providers.base import ChatCall, EmbeddingCall
from apps.providers.embedding_format import ENCODINGS

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
NUMBER = (int, float)
# Known OpenAI chat parameters and the JSON types they accept (bool is not a number here).
CHAT_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": NUMBER, "top_p": NUMBER, "presence_penalty": NUMBER, "frequency_penalty": NUMBER,
    "n": (int,), "max_tokens": (int,), "max_completion_tokens": (int,), "seed": (int,), "top_logprobs": (int,),
    "logprobs": (bool,), "parallel_tool_calls": (bool,), "store": (bool,),
    "stop": (str, list), "tools": (list,), "tool_choice": (str, dict), "response_format": (dict,),
    "user": (str,), "metadata": (dict,), "stream_options": (dict,), "logit_bias": (dict,),
    "reasoning_effort": (str,), "modalities": (list,), "service_tier": (str,),
}
POSITIVE_INTS = ("n", "max_tokens", "max_completion_tokens")
# LiteLLM's own request fields (spend-row tags and metadata) on calls whose provider API has no such field: read
# by admission, then left out of the upstream body (OpenAI's images, audio and moderations refuse `metadata`).
LITELLM_ONLY_FIELDS = frozenset({"metadata", "litellm_metadata", "tags"})


def without_litellm_fields(params: Mapping[str, Any], *, user: bool = True) -> dict[str, Any]:
    """The params without LiteLLM's own fields, for the upstream body (and without `user`, LiteLLM's end user, for
    APIs that have no such field: `user=False`)."""
    return {name: value for name, value in params.items()
            if name not in LITELLM_ONLY_FIELDS and (user or name != "user")}


# LiteLLM's banned body fields: a client may not point a call at an endpoint of its choosing, unless its key has
# the `allow_client_side_credentials` permission (apps.routing.client_endpoint); its own `api_key` goes with it.
CLIENT_ENDPOINT_FIELDS = ("api_base", "base_url")
# Fields the gateway itself acts on; they are not forwarded upstream.
GATEWAY_FIELDS = frozenset({"fallbacks", "context_window_fallbacks", "num_retries", "timeout", "caching",
                            "stream_resume", *CLIENT_ENDPOINT_FIELDS, "api_key"})


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Per-request routing options (LiteLLM's body fields)."""

    fallbacks: tuple[str, ...] | None = None
    num_retries: int | None = None
    timeout: float | None = None
    stream_resume: bool | None = None  # None: the router's `stream_resume` setting
    # A client-supplied endpoint and key: used only once `client_endpoint.checked_endpoint` has passed them.
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    endpoint_field: str = ""  # which body field named the endpoint (api_base or base_url)
    endpoint_checked: bool = False
    # Set by the gateway itself, never from a body: headers added to the upstream request and tags added to the
    # spend row (an agent's model calls carry its trace id and agent id, and their rows name the agent).
    headers: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()
    # The call serves one whose rate limits were checked already (an agent's model call, inside the agent call
    # its caller made): the key's rpm and parallel limits are not checked again, so a session is held to them once.
    limits_checked: bool = False


NO_OPTIONS = CallOptions()
OPTION_FIELDS = frozenset({"fallbacks", "num_retries", "timeout", "stream_resume", *CLIENT_ENDPOINT_FIELDS})


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    if not raw:
        raise InvalidRequest("The request body is empty; send a JSON object.", code="invalid_json")
    try:
        body = jsonutil.loads(raw)
    except jsonutil.JSONDecodeError:
        raise InvalidRequest("We could not parse the JSON body of your request.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def require_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise InvalidRequest("you must provide a model parameter", param="model", code="missing_required_parameter")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("model must be a non-empty string", param="model", code="invalid_type")
    return model


def check_type(name: str, value: Any, allowed: tuple[type, ...]) -> None:
    if value is None:
        return
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok:
        names = " or ".join({int: "integer", float: "number", str: "string", list: "array", dict: "object",
                             bool: "boolean"}[t] for t in allowed if t is not float or int not in allowed)
        raise InvalidRequest(f"Invalid type for '{name}': expected {names}.", param=name, code="invalid_type")


def _check_messages(messages: Any) -> list[Any]:
    if messages is None:
        raise InvalidRequest("Missing required parameter: 'messages'.", param="messages",
                             code="missing_required_parameter")
    if not isinstance(messages, list):
        raise InvalidRequest("Invalid type for 'messages': expected an array.", param="messages", code="invalid_type")
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message.", param="messages", code="empty_array")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"Invalid type for 'messages[{index}]': expected an object.",
                                 param=f"messages[{index}]", code="invalid_type")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequest(f"Invalid value for 'messages[{index}].role': {role!r}.",
                                 param=f"messages[{index}].role", code="invalid_value")
        if len(message) != 2 or type(message.get("content")) is not str or role in NAMED_ROLES:
            check_message(message, role, index)  # more than {"role", "content": "..."}: the nested shapes
    return messages


def endpoint_refused(name: str) -> InvalidRequest:
    return InvalidRequest(f"Rejected Request: {name} is not allowed in request body; a deployment's endpoint is set "
                          "in config.yaml or with /model/new (or give the key the allow_client_side_credentials "
                          "permission).", param=name, code="client_endpoint_not_allowed")


def refuse_client_endpoint(body: dict[str, Any]) -> None:
    """A call names no endpoint of its own: the deployment's api_base is the only one (no SSRF through the gateway)."""
    for name in CLIENT_ENDPOINT_FIELDS:
        if name in body:
            raise endpoint_refused(name)


def client_endpoint(body: dict[str, Any]) -> dict[str, Any]:
    """The body's own endpoint (`api_base` or `base_url`) and `api_key`, as CallOptions fields (unchecked)."""
    name = next((name for name in CLIENT_ENDPOINT_FIELDS if name in body), "")
    if not name:
        return {}
    for field_name in (name, "api_key"):
        check_type(field_name, body.get(field_name), (str,))
    return {"api_base": body[name], "api_key": body.get("api_key"), "endpoint_field": name}


def call_options(body: dict[str, Any], *, endpoint: bool = False) -> CallOptions:
    """The body's routing options; `endpoint`: the surface may take a client's endpoint (checked later, per key)."""
    if OPTION_FIELDS.isdisjoint(body):
        return NO_OPTIONS  # most calls: no dataclass to build
    endpoint_fields = client_endpoint(body) if endpoint else {}
    if not endpoint:
        refuse_client_endpoint(body)
    fallbacks = body.get("fallbacks")
    if fallbacks is not None and not (isinstance(fallbacks, list) and all(isinstance(f, str) for f in fallbacks)):
        raise InvalidRequest("'fallbacks' must be an array of model names.", param="fallbacks", code="invalid_type")
    retries = body.get("num_retries")
    check_type("num_retries", retries, (int,))
    timeout = body.get("timeout")
    check_type("timeout", timeout, NUMBER)
    if timeout is not None and timeout <= 0:
        raise InvalidRequest("'timeout' must be positive.", param="timeout", code="invalid_value")
    resume = body.get("stream_resume")
    check_type("stream_resume", resume, (bool,))
    return CallOptions(fallbacks=tuple(fallbacks) if fallbacks is not None else None,
                       num_retries=retries, timeout=float(timeout) if timeout is not None else None,
                       stream_resume=resume, **endpoint_fields)


def parse_chat_request(raw: bytes) -> tuple[ChatCall, CallOptions]:
    """A chat completion body as a ChatCall (unknown fields kept) and its routing options."""
    body = parse_json_object(raw)
    model = require_model(body)
    messages = _check_messages(body.get("messages"))
    stream = body.get("stream", False)
    check_type("stream", stream, (bool,))
    for name, allowed in CHAT_PARAM_TYPES.items():
        if name in body:
            check_type(name, body[name], allowed)
    for name in POSITIVE_INTS:
        value = body.get(name)
        if value is not None and value < 1:
            raise InvalidRequest(f"Invalid value for '{name}': must be at least 1.", param=name, code="invalid_value")
    if not SHAPED_FIELDS.isdisjoint(body):
        check_chat_shapes(body)
    params = {k: v for k, v in body.items()
              if k not in ("model", "messages", "stream") and k not in GATEWAY_FIELDS}
    call = ChatCall(model=model, messages=messages, stream=bool(stream), params=params)
    return call, call_options(body, endpoint=True)


def parse_embedding_request(raw: bytes) -> tuple[EmbeddingCall, CallOptions]:
    """An embeddings body as an EmbeddingCall and its routing options."""
    body = parse_json_object(raw)
    model = require_model(body)
    value = body.get("input")
    if value is None:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    if not isinstance(value, (str, list)) or value in ("", []):
        raise InvalidRequest("'input' must be a non-empty string or array.", param="input", code="invalid_value")
    check_type("dimensions", body.get("dimensions"), (int,))
    check_encoding_format(body.get("encoding_format"))
    params = {k: v for k, v in body.items() if k not in ("model", "input") and k not in GATEWAY_FIELDS}
    return EmbeddingCall(model=model, input=value, params=params), call_options(body, endpoint=True)


def check_encoding_format(value: Any) -> None:
    """`encoding_format` is `float` or `base64` (or absent), as OpenAI's API takes it."""
    if value is not None and value not in ENCODINGS:
        raise InvalidRequest(f"Invalid value for 'encoding_format': {str(value)[:40]!r}. Supported values are: "
                             "'float' and 'base64'.", param="encoding_format", code="invalid_value")
