"""Routing strategies: each picks one deployment from the candidates that passed every filter."""
from __future__ import annotations

from apps.routing.strategies import cost, latency, least_busy, shuffle, usage
from apps.routing.strategies.base import CallShape, DeploymentStats, Strategy

STRATEGIES: dict[str, Strategy] = {
    "simple-shuffle": shuffle.choose,
    "least-busy": least_busy.choose,
    "latency-based": latency.choose,
    "cost-based": cost.choose,
    "usage-based": usage.choose,
}

__all__ = ["STRATEGIES", "CallShape", "DeploymentStats", "Strategy"]
