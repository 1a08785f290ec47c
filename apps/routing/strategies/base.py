"""What every strategy reads: the candidates, their live numbers, and the shape of the call."""
from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    """One deployment's live numbers from the state backend (shared by every gateway process)."""

    in_flight: float = 0.0
    requests_this_minute: float = 0.0
    tokens_this_minute: float = 0.0
    latency_per_token: float | None = None  # moving average, seconds per completion token
    time_to_first_token: float | None = None  # moving average, seconds, streamed calls
    cooldown_until: float = 0.0  # epoch seconds; 0 when not cooling


@dataclass(frozen=True, slots=True)
class CallShape:
    """What the router knows of a call before sending it."""

    prompt_tokens: int = 0
    max_completion_tokens: int | None = None
    stream: bool = False
    mode: str = ""  # "chat" or "embedding": deployments whose model_info.mode serves neither are skipped


NO_STATS = DeploymentStats()
Stats = Mapping[str, DeploymentStats]


class Strategy(Protocol):
    """Choose one of `candidates` (never empty); `rng` is the only source of chance."""

    def __call__(self, candidates: Sequence[DeploymentRecord], *, stats: Stats, shape: CallShape,
                 policy: RouterPolicy, rng: random.Random) -> DeploymentRecord: ...


def lowest(candidates: Sequence[DeploymentRecord], score: Mapping[str, float], rng: random.Random,
           *, tolerance: float = 0.0) -> DeploymentRecord:
    """A random one among the candidates scoring within `tolerance` (relative) of the lowest score."""
    best = min(score[d.id] for d in candidates)
    limit = best + abs(best) * tolerance if tolerance and math.isfinite(best) else best
    ties = [d for d in candidates if score[d.id] <= limit]
    return ties[0] if len(ties) == 1 else rng.choice(ties)
