"""least-busy: the deployment with the fewest calls in flight across every gateway process."""
from __future__ import annotations

import random
from collections.abc import Sequence

from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies.base import NO_STATS, CallShape, Stats, lowest


def choose(candidates: Sequence[DeploymentRecord], *, stats: Stats, shape: CallShape, policy: RouterPolicy,
           rng: random.Random) -> DeploymentRecord:
    """Fewest in flight; ties drawn at random."""
    return lowest(candidates, {d.id: stats.get(d.id, NO_STATS).in_flight for d in candidates}, rng)
