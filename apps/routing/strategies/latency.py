"""latency-based: the lowest moving-average latency (per token, or to first token when streaming).

A deployment with no samples yet scores 0 so it gets tried; candidates within `latency_buffer` of the
fastest are drawn at random, so one deployment is not hammered by every call.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies.base import NO_STATS, CallShape, Stats, lowest


def choose(candidates: Sequence[DeploymentRecord], *, stats: Stats, shape: CallShape, policy: RouterPolicy,
           rng: random.Random) -> DeploymentRecord:
    """Fastest, with a random pick among the nearly fastest."""
    score = {}
    for d in candidates:
        numbers = stats.get(d.id, NO_STATS)
        value = numbers.time_to_first_token if shape.stream else numbers.latency_per_token
        score[d.id] = value or 0.0
    return lowest(candidates, score, rng, tolerance=policy.latency_buffer)
