"""In-code agents the test gateway serves (TOLLGATE_AGENT_MODULES=tests.agents.code_agents), written against the
issue's API exactly."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from apps.agents import Agent, AgentGateway
from apps.providers import acompletion


class ResearchAgent(Agent):
    name = "research_agent"
    description = "Researches topics and provides summaries"

    async def process(self, query: str) -> str:
        response = await acompletion(model="gpt-4o", messages=[
            {"role": "system", "content": "You are a research assistant."}, {"role": "user", "content": query}])
        return response.choices[0].message.content


class BusyAgent(Agent):
    """Calls the priced model once per word of the query, one call after another (a session of many calls)."""

    name = "busy_agent"
    description = "Makes one priced model call per word"

    async def process(self, query: str) -> str:
        answers = []
        for word in query.split():
            response = await acompletion(model="priced-gpt", max_tokens=10,
                                         messages=[{"role": "user", "content": word}])
            answers.append(response.choices[0].message.content)
        return " | ".join(answers)


class WaitingAgent(Agent):
    """Works until it is canceled."""

    name = "waiting_agent"
    description = "Never finishes on its own"

    async def process(self, query: str) -> str:
        await asyncio.Event().wait()
        return "unreachable"


class ManagerAgent(Agent):
    """Asks another agent (named in the query as `agent: question`) and reports its answer."""

    name = "manager_agent"
    description = "Delegates to other agents"

    async def process(self, query: str) -> str:
        agent, _, question = query.partition(":")
        answer = await gateway.call(agent=agent.strip(), query=question.strip())
        return f"{agent.strip()} answered: {answer}"


class TypingAgent(Agent):
    """An async generator: yields the model's answer as the model streams it, one piece per token."""

    name = "typing_agent"
    description = "Streams the model's answer as it comes"

    async def process(self, query: str) -> AsyncIterator[str]:
        stream = await acompletion(model="gpt-4o", stream=True, messages=[{"role": "user", "content": query}])
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


gateway = AgentGateway()
for agent in (ResearchAgent(), BusyAgent(), WaitingAgent(), ManagerAgent(), TypingAgent()):
    gateway.register(agent)
