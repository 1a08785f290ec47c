"""In-code agents: subclass `Agent`, register it with an `AgentGateway`, call it by name.

    class ResearchAgent(Agent):
        name = "research_agent"
        description = "Researches topics and provides summaries"
        async def process(self, query: str) -> str: ...

    gateway = AgentGateway()
    gateway.register(ResearchAgent())
    result = await gateway.call(agent="research_agent", query="...")

`process` may also be an async generator yielding pieces of text: served over A2A's streaming methods (and a
streamed `a2a/` chat) each piece goes out as it is yielded; everywhere else the pieces are joined.

A registered agent is also served over A2A by the gateway process whose `TOLLGATE_AGENT_MODULES` names the
module that registers it. Inside a gateway session (an A2A task), `acompletion` goes through the gateway and
`gateway.call` reaches every agent the caller may use, all billed to the caller's key.
"""
from __future__ import annotations

import abc
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, ClassVar

from apps.agents.registry import AgentRecord

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_registered: dict[str, Agent] = {}  # every in-code agent this process registered, served over A2A


class AgentNotFound(LookupError):
    """No agent of that name is registered (or the caller may not use it)."""


class Agent(abc.ABC):
    """An agent written in Python: `process` turns a query into an answer."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    version: ClassVar[str] = "1.0.0"
    skills: ClassVar[tuple[dict[str, Any], ...]] = ()

    @abc.abstractmethod
    def process(self, query: str) -> Awaitable[str] | AsyncIterator[str]:
        """The answer to `query` (`async def ... -> str`), or its pieces (an async generator)."""


async def answer_from(agent: Agent, query: str, emit: Callable[[str], Awaitable[None]] | None = None) -> str:
    """`agent`'s whole answer to `query`; the pieces of a generator agent also go to `emit` as they come."""
    result = agent.process(query)
    if not inspect.isasyncgen(result):
        return await result  # type: ignore[misc]
    pieces: list[str] = []
    async with aclosing(result) as generated:
        async for piece in generated:
            pieces.append(str(piece))
            if emit is not None:
                await emit(pieces[-1])
    return "".join(pieces)


def code_records() -> list[AgentRecord]:
    """The in-code agents as registry records (their id is their name)."""
    return [AgentRecord(agent_id=agent.name, name=agent.name, kind="code", description=agent.description,
                        version=agent.version, skills=tuple(agent.skills), code=agent)
            for agent in _registered.values()]


class AgentGateway:
    """Registers in-code agents and calls agents by name."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def register(self, agent: Agent) -> Agent:
        """Add `agent` under its `name` (for this gateway and for the A2A server of this process)."""
        if not isinstance(agent, Agent):
            raise TypeError(f"{agent!r} is not an apps.agents.Agent")
        if not NAME.match(agent.name or ""):
            raise ValueError(f"agent name {agent.name!r} must be 1-100 letters, digits, '_', '-' or '.'")
        self.agents[agent.name] = agent
        _registered[agent.name] = agent
        from apps.agents.session import agents_changed

        agents_changed()
        return agent

    async def call(self, *, agent: str, query: str) -> str:
        """`agent`'s answer to `query`: inside a gateway session through the gateway (any agent the caller may use,
        metered), otherwise this gateway's own agent, run here."""
        from apps.agents.session import current_session

        session = current_session()
        if session is not None:
            return await session.call_agent(agent, query)
        local = self.agents.get(agent) or _registered.get(agent)
        if local is None:
            raise AgentNotFound(f"no agent named {agent!r} is registered")
        return await answer_from(local, query)
