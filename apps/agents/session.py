"""An agent session: one caller's key behind every model call, tool call and sub-agent call an agent makes while
it serves a task. Each of them is admitted (reserved) and settled against that key like any /v1 call, so
parallel turns of one session cannot spend past its budget together."""
from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from apps.agents.errors import A2AError
from apps.agents.registry import AgentRecord, agent_table, may_call
from apps.providers.base import ChatCall
from apps.providers.sdk_session import current_session as sdk_session
from apps.providers.transport import ChatStream
from apps.routing import calls
from apps.routing.parsing import CallOptions
from apps.teams.auth import Principal

MAX_DEPTH = 8  # agents calling agents: deeper than this is a loop


def agent_tag(agent: AgentRecord) -> str:
    """The spend-row tag of an agent's calls (its own a2a row and every model call it makes)."""
    return f"agent:{agent.agent_id}"


@dataclass(slots=True)
class AgentSession:
    """Who pays, which agent is running, and the ids that tie its calls together."""

    principal: Principal
    agent: AgentRecord
    request_id: str
    trace_id: str
    depth: int = 0
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_request_id(self) -> str:
        return f"{self.request_id}.{next(self.counter)}"

    @property
    def options(self) -> CallOptions:
        """Routing options of the session's model calls: upstream they carry the trace id and the agent id (as
        calls forwarded to a remote agent do), their spend rows name the agent, and the key's rpm and parallel
        limits, checked for the agent call, are not checked again (budgets and tpm are)."""
        return CallOptions(headers=(("x-litellm-trace-id", self.trace_id), ("x-litellm-agent-id", self.agent.agent_id)),
                           tags=(agent_tag(self.agent),), limits_checked=True)

    async def chat(self, model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """A chat completion through the gateway, billed to the caller: the OpenAI body."""
        call = ChatCall(model=model, messages=messages, params=params)  # type: ignore[arg-type]
        served = await calls.chat_completion(self.principal, call, self.options, request_id=self.next_request_id())
        return served.value.body

    async def chat_stream(self, model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatStream:
        """An open chat stream through the gateway, billed to the caller (settled when the stream ends or closes)."""
        call = ChatCall(model=model, messages=messages, stream=True, params=params)  # type: ignore[arg-type]
        served = await calls.chat_stream(self.principal, call, self.options, request_id=self.next_request_id())
        return served.value

    async def acompletion(self, model: str, messages: list[dict[str, Any]], *, stream: bool,
                          options: dict[str, Any]) -> Any | AsyncGenerator[Any, None]:
        """`apps.providers.acompletion` inside the session."""
        from apps.providers.sdk import OpenAIObject  # the SDK (and openai's types) only where an agent uses it

        if not stream:
            return OpenAIObject(await self.chat(model, messages, options))
        return chunks(await self.chat_stream(model, messages, options))

    async def call_agent(self, ref: str, query: str) -> str:
        """Another agent's answer, as a task of its own under the same caller."""
        from apps.agents.code import AgentNotFound
        from apps.agents.turns import answer_of

        table = await agent_table.get()
        agent = table.find(ref)
        if agent is None or not may_call(self.principal, agent):
            raise AgentNotFound(f"no agent named {ref!r} is available to this key")
        if self.depth + 1 >= MAX_DEPTH:
            raise A2AError(f"agents called each other more than {MAX_DEPTH} deep; stopped")
        child = AgentSession(principal=self.principal, agent=agent, request_id=self.next_request_id(),
                             trace_id=self.trace_id, depth=self.depth + 1)
        return await answer_of(child, query)


async def chunks(stream: Any) -> AsyncGenerator[Any, None]:
    from apps.providers.sdk import OpenAIObject

    async for batch in stream.batches():
        for chunk in batch:
            yield OpenAIObject(chunk.body)


_session: ContextVar[AgentSession | None] = ContextVar("tollgate_agent_session", default=None)


def current_session() -> AgentSession | None:
    return _session.get()


def enter(session: AgentSession) -> None:
    """Make `session` the current one in this task (and the tasks it starts), for agents and the SDK."""
    _session.set(session)
    sdk_session.set(session)


def agents_changed() -> None:
    """In-code agents were registered: rebuild this process's agent table on its next read."""
    agent_table.clear()
