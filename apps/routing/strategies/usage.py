"""usage-based: the most rpm/tpm headroom left in the current minute.

Headroom is the smaller of the unused shares of `rpm` and `tpm` (1.0 when a deployment sets neither);
among equal headroom, the deployment that used fewer tokens this minute wins.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

from apps.routing.policy import RouterPolicy
from apps.routing.snapshot import DeploymentRecord
from apps.routing.strategies.base import NO_STATS, CallShape, DeploymentStats, Stats, lowest


def headroom(deployment: DeploymentRecord, numbers: DeploymentStats, shape: CallShape) -> float:
    """The unused share (0..1) of the tighter limit, counting this call."""
    shares = [1.0]
    if deployment.rpm:
        shares.append(1 - (numbers.requests_this_minute + 1) / deployment.rpm)
    if deployment.tpm:
        shares.append(1 - (numbers.tokens_this_minute + shape.prompt_tokens) / deployment.tpm)
    return min(shares)


def choose(candidates: Sequence[DeploymentRecord], *, stats: Stats, shape: CallShape, policy: RouterPolicy,
           rng: random.Random) -> DeploymentRecord:
    """Most headroom, then fewest tokens used; exact ties drawn at random."""
    room = {d.id: headroom(d, stats.get(d.id, NO_STATS), shape) for d in candidates}
    best = max(room.values())
    roomiest = [d for d in candidates if room[d.id] == best]
    return lowest(roomiest, {d.id: stats.get(d.id, NO_STATS).tokens_this_minute for d in roomiest}, rng)
