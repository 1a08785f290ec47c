"""Hosted agents: a model on the gateway, a system prompt and, as its tools, other agents. The gateway runs the
loop: the model answers, or asks for agents, whose answers go back to it, until it answers."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

from apps.agents.errors import InvalidAgentResponse, InvalidParams
from apps.agents.registry import AgentRecord
from apps.agents.session import AgentSession, current_session
from apps.agents.wire import Message, text_of
from apps.core import jsonutil

MAX_TOOL_ROUNDS = 8
TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")


def chat_messages(agent: AgentRecord, history: list[Message]) -> list[dict[str, Any]]:
    """The system prompt, then the task's history as user and assistant turns."""
    messages: list[dict[str, Any]] = []
    prompt = agent.params.get("system_prompt")
    if isinstance(prompt, str) and prompt:
        messages.append({"role": "system", "content": prompt})
    for message in history:
        role = "assistant" if message.get("role") == "ROLE_AGENT" else "user"
        messages.append({"role": role, "content": text_of(message.get("parts") or [])})
    return messages


def tool_names(agent: AgentRecord) -> dict[str, str]:
    """Function name (what the model may call) -> agent name, for the agents listed as its tools."""
    tools = agent.params.get("tools") or []
    return {TOOL_NAME.sub("_", str(name)): str(name) for name in tools if isinstance(name, str)}


def tool_specs(names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {
        "name": function, "description": f"Ask the agent {name}",
        "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "what to ask"}},
                       "required": ["query"]}}} for function, name in names.items()]


async def tool_result(session: AgentSession, names: dict[str, str], call: dict[str, Any]) -> dict[str, Any]:
    """The agent a tool call names, asked its query; its answer as the tool message."""
    function = call.get("function") or {}
    name = names.get(str(function.get("name")))
    try:
        arguments = jsonutil.loads(function.get("arguments") or "{}")
    except jsonutil.JSONDecodeError:
        arguments = {}
    if name is None:
        content = f"error: no tool named {function.get('name')!r}"
    else:
        content = await session.call_agent(name, str(arguments.get("query", "")) if isinstance(arguments, dict) else "")
    return {"role": "tool", "tool_call_id": call.get("id", ""), "content": content}


Emit = Callable[[str], Awaitable[None]]


def merge_tool_call(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    """A streamed tool-call delta added to the call it continues (by index): id, name, then argument pieces."""
    call = calls.setdefault(int(delta.get("index") or 0), {"id": "", "type": "function",
                                                          "function": {"name": "", "arguments": ""}})
    call["id"] = delta.get("id") or call["id"]
    function = delta.get("function") or {}
    call["function"]["name"] += function.get("name") or ""
    call["function"]["arguments"] += function.get("arguments") or ""


async def streamed_reply(session: AgentSession, model: str, messages: list[dict[str, Any]], params: dict[str, Any],
                         emit: Emit) -> dict[str, Any]:
    """The model's reply streamed: each content delta to `emit` as it arrives, tool calls put together. Cancelling
    the task closes the upstream stream at once (and the stream's meter settles what was generated)."""
    stream = await session.chat_stream(model, messages, params)
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    async with aclosing(stream.batches()) as batches:
        async for batch in batches:
            for chunk in batch:
                for choice in chunk.body.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        content.append(delta["content"])
                        await emit(delta["content"])
                    for call in delta.get("tool_calls") or []:
                        merge_tool_call(calls, call)
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
    if calls:
        reply["tool_calls"] = [calls[index] for index in sorted(calls)]
    return reply


async def model_reply(session: AgentSession, model: str, messages: list[dict[str, Any]], params: dict[str, Any],
                      emit: Emit | None) -> dict[str, Any]:
    """The model's reply message: one completion, or streamed when someone follows the answer."""
    if emit is not None:
        return await streamed_reply(session, model, messages, params, emit)
    body = await session.chat(model, messages, params)
    reply: dict[str, Any] = (body.get("choices") or [{}])[0].get("message") or {}
    return reply


async def answer(agent: AgentRecord, history: list[Message], emit: Emit | None = None) -> str:
    """The hosted agent's answer to its task's history (streamed to `emit` piece by piece, if given)."""
    session = current_session()
    model = agent.params.get("model")
    if session is None or not isinstance(model, str) or not model:
        raise InvalidParams(f"hosted agent {agent.name} has no litellm_params.model")
    messages = chat_messages(agent, history)
    names = tool_names(agent)
    params: dict[str, Any] = {"tools": tool_specs(names)} if names else {}
    for _ in range(MAX_TOOL_ROUNDS):
        reply = await model_reply(session, model, messages, params, emit)
        calls = reply.get("tool_calls") or []
        if not calls:
            return str(reply.get("content") or "")
        messages.append({"role": "assistant", "content": reply.get("content"), "tool_calls": calls})
        for call in calls:
            messages.append(await tool_result(session, names, call))
    raise InvalidAgentResponse(f"hosted agent {agent.name} kept calling tools for {MAX_TOOL_ROUNDS} rounds")
