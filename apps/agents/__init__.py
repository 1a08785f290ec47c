"""The agent gateway: agents registered, discovered and called over A2A (0.3 and 1.0) with keys, budgets and
logs. `from apps.agents import Agent, AgentGateway` is the in-code agents' API (apps.agents.code)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.agents.code import Agent, AgentGateway

__all__ = ["Agent", "AgentGateway"]


def __getattr__(name: str) -> Any:
    # Imported lazily: Django loads this package before its models are ready.
    if name in __all__:
        from apps.agents import code

        return getattr(code, name)
    raise AttributeError(name)
