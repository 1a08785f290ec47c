"""`/v1/completions` (legacy text) without HTTP: admitted and routed as a chat call of the same size, sent
natively to OpenAI-compatible upstreams and over chat to the rest (`apps.providers.completions`)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from apps.core.errors import InvalidRequest
from apps.providers import transport
from apps.providers.base import ChatCall, ChatCompletion, ProviderAdapter, Target
from apps.providers.completions import CompletionCall, completions_adapter
from apps.providers.registry import adapter_for
from apps.providers.transport import ChatStream
from apps.routing.admission import admit_chat
from apps.routing.calls import metered, resuming, table_for, target_for
from apps.routing.chat_shapes import check_stop
from apps.routing.parsing import (
    CHAT_PARAM_TYPES,
    GATEWAY_FIELDS,
    NUMBER,
    CallOptions,
    check_type,
    call_options,
    require_model,
    parse_json_object,
)
from apps.routing.prices import deployment_price
from apps.routing.router import Served
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.stream_resume import continuation_call, open_primed
from apps.teams.auth import Principal
from apps.teams.metering import Meter

COMPLETION_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    **{name: CHAT_PARAM_TYPES[name] for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty",
                                                 "n", "max_tokens", "seed", "stop", "user", "logit_bias",
                                                 "stream_options", "metadata")},
    "best_of": (int,), "echo": (bool,), "logprobs": (int,), "suffix": (str,),
}
POSITIVE = ("n", "max_tokens", "best_of")
T = TypeVar("T")
Send = Callable[[ProviderAdapter, ChatCall, Target], Awaitable[T]]


def valid_prompt(prompt: Any) -> bool:
    """A string, a token array, or a non-empty array of either (OpenAI's four prompt forms)."""
    if isinstance(prompt, str):
        return bool(prompt)
    if not isinstance(prompt, list) or not prompt:
        return False
    if all(isinstance(item, int) and not isinstance(item, bool) for item in prompt):
        return True
    return all(isinstance(item, str) or (isinstance(item, list) and item and all(
        isinstance(token, int) and not isinstance(token, bool) for token in item)) for item in prompt)


def parse_completion_request(raw: bytes) -> tuple[CompletionCall, CallOptions]:
    """A completions body as a CompletionCall (unknown fields kept for compatible upstreams) and its options."""
    body = parse_json_object(raw)
    model = require_model(body)
    prompt = body.get("prompt")
    if prompt is None:
        raise InvalidRequest("Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    if not valid_prompt(prompt):
        raise InvalidRequest("'prompt' must be a non-empty string, array of strings, or array of tokens.",
                             param="prompt", code="invalid_value")
    stream = body.get("stream", False)
    check_type("stream", stream, (bool,))
    for name, allowed in COMPLETION_PARAM_TYPES.items():
        check_type(name, body.get(name), allowed)
    for name in POSITIVE:
        value = body.get(name)
        if value is not None and value < 1:
            raise InvalidRequest(f"Invalid value for '{name}': must be at least 1.", param=name, code="invalid_value")
    check_type("timeout", body.get("timeout"), NUMBER)
    check_stop(body.get("stop"))
    params = {k: v for k, v in body.items() if k not in ("model", "prompt", "stream") and k not in GATEWAY_FIELDS}
    call = CompletionCall(model=model, prompt=prompt, stream=bool(stream), params=params)
    return call, call_options(body, endpoint=True)


async def routed(principal: Principal, call: CompletionCall, options: CallOptions, send: Send[T], *,
                 request_id: str) -> tuple[Served[T], Meter, RoutingTable, CompletionCall]:
    """Admitted as the chat call it is sized as (logged as a text completion), then routed with `send`; with the
    meter, the routing table and the call as routed (the key's aliases applied)."""
    table, call = await table_for(principal, call)
    chat = call.as_chat()
    meter = await admit_chat(principal, table, chat, options, request_id=request_id)
    meter.call_type = "text_completion"

    async def attempt(deployment: DeploymentRecord) -> T:
        target = target_for(deployment, options)
        return await send(completions_adapter(adapter_for(target.provider), call), chat, target)

    return await metered(meter, table, chat, options, attempt), meter, table, call


async def text_completion(principal: Principal, call: CompletionCall, options: CallOptions, *,
                          request_id: str = "") -> Served[ChatCompletion]:
    """A `text_completion` answer from the first deployment that gives one."""
    served, meter, _, _ = await routed(principal, call, options, transport.send_chat, request_id=request_id)
    meter.finish_soon(served.deployment, served.value.usage, price=deployment_price(served.deployment))
    return served


async def text_completion_stream(principal: Principal, call: CompletionCall, options: CallOptions, *,
                                 request_id: str = "") -> Served[ChatStream]:
    """An open stream of `text_completion` chunks; failures before its first token fail over unseen, and with
    `stream_resume` a stream cut later continues on another deployment or fallback."""
    served, meter, table, call = await routed(principal, call, options, open_primed, request_id=request_id)
    if not isinstance(call.prompt, str):  # only a single text prompt can be continued
        options = replace(options, stream_resume=False)
    reopen = partial(completion_continuation, call=call, options=options)
    stream = resuming(served.value, served.deployment, table=table, call=call.as_chat(), options=options, meter=meter,
                      reopen=reopen)
    return Served(stream, served.deployment, served.attempts, fallback_depth=served.fallback_depth,
                  model_group=served.model_group)


def continued(call: CompletionCall, text: str) -> CompletionCall:
    """`call` (of one text prompt) asking for the rest of a completion that began with `text`: its prompt followed
    by that text."""
    return replace(call, prompt=f"{call.prompt}{text}")


async def completion_continuation(deployment: DeploymentRecord, text: str, *, call: CompletionCall,
                                  options: CallOptions) -> ChatStream:
    """`deployment`'s stream of the rest of a completion that began with `text`: natively its prompt continued,
    over chat the prompt's chat call continued."""
    target = target_for(deployment, options)
    adapter = completions_adapter(adapter_for(target.provider), continued(call, text))
    chat = continuation_call(call.as_chat(), text, prefill=adapter.supports("assistant_prefill"))
    return await open_primed(adapter, chat, target)
