"""simple-shuffle: a weighted random pick, by `weight`, else by `rpm`, else by `tpm`, else uniform."""
from __future__ import annotations

import random
from collections.abc import Sequence

from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies.base import CallShape, Stats


def weights_of(candidates: Sequence[DeploymentRecord]) -> list[float]:
    """The draw weights LiteLLM uses: explicit weights first, then rpm, then tpm."""
    if any(d.weight_set for d in candidates):
        weights = [max(d.weight, 0.0) for d in candidates]
    elif all(d.rpm for d in candidates):
        weights = [float(d.rpm or 0) for d in candidates]
    elif all(d.tpm for d in candidates):
        weights = [float(d.tpm or 0) for d in candidates]
    else:
        weights = [1.0] * len(candidates)
    return weights if sum(weights) > 0 else [1.0] * len(candidates)


def choose(candidates: Sequence[DeploymentRecord], *, stats: Stats, shape: CallShape, policy: RouterPolicy,
           rng: random.Random) -> DeploymentRecord:
    """One weighted random draw."""
    if len(candidates) == 1:
        return candidates[0]
    return rng.choices(list(candidates), weights=weights_of(candidates))[0]
