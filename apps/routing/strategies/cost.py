"""cost-based: the cheapest deployment for this call's prompt and expected completion tokens."""
from __future__ import annotations

import math
import random
from collections.abc import Sequence

from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies.base import CallShape, Stats, lowest


def expected_cost(deployment: DeploymentRecord, shape: CallShape, policy: RouterPolicy) -> float:
    """USD for the call at this deployment's prices; unpriced deployments come last."""
    if deployment.input_cost_per_token is None and deployment.output_cost_per_token is None:
        return math.inf
    completion = shape.max_completion_tokens or policy.expected_completion_tokens
    return (float(deployment.input_cost_per_token or 0) * shape.prompt_tokens
            + float(deployment.output_cost_per_token or 0) * completion)


def choose(candidates: Sequence[DeploymentRecord], *, stats: Stats, shape: CallShape, policy: RouterPolicy,
           rng: random.Random) -> DeploymentRecord:
    """Cheapest; ties drawn at random."""
    return lowest(candidates, {d.id: expected_cost(d, shape, policy) for d in candidates}, rng)
