"""The issue's in-code API, verbatim, run in this process (no gateway): `acompletion` goes to the provider named by
the model, as the SDK does outside a gateway session."""
from __future__ import annotations

import asyncio

import pytest

from tests.upstreams.openai import OpenAIUpstream


def test_the_issue_example_runs_as_written(upstream: OpenAIUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", upstream.api_base)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream-secret")

    from apps.agents import Agent, AgentGateway
    from apps.providers import acompletion

    class ResearchAgent(Agent):
        name = "research_agent"
        description = "Researches topics and provides summaries"
        async def process(self, query: str) -> str:
            response = await acompletion(model="gpt-4o", messages=[
                {"role": "system", "content": "You are a research assistant."}, {"role": "user", "content": query}])
            return response.choices[0].message.content

    gateway = AgentGateway()
    gateway.register(ResearchAgent())

    async def main() -> str:
        result = await gateway.call(agent="research_agent", query="What are the latest advances in quantum computing?")
        return result

    assert asyncio.run(main()) == "This is a mock response to: What are the latest advances in quantum computing?"
    [seen] = upstream.requests
    assert (seen.path, seen.json()["model"], seen.headers["authorization"]) == (
        "/v1/chat/completions", "gpt-4o", "Bearer sk-upstream-secret")


def test_registering_checks_the_agent() -> None:
    from apps.agents import Agent, AgentGateway

    class Nameless(Agent):
        async def process(self, query: str) -> str:
            return query

    with pytest.raises(ValueError, match="agent name '' must be"):
        AgentGateway().register(Nameless())
    with pytest.raises(TypeError):
        AgentGateway().register(object())  # type: ignore[arg-type]


def test_calling_an_unregistered_agent_names_it() -> None:
    from apps.agents import AgentGateway
    from apps.agents.code import AgentNotFound

    with pytest.raises(AgentNotFound, match="no agent named 'ghost' is registered"):
        asyncio.run(AgentGateway().call(agent="ghost", query="boo"))
