"""Pick deployments for a model group and try them: weighted order, retries, then fallback groups."""
from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from apps.core.errors import ModelNotFound
from apps.providers.base import UpstreamError
from apps.routing.parsing import CallOptions
from apps.routing.snapshot import DeploymentRecord, RoutingTable

T = TypeVar("T")
Attempt = Callable[[DeploymentRecord], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class Served(Generic[T]):
    """A successful result and where it came from."""

    value: T
    deployment: DeploymentRecord
    attempts: int = 1
    fallback_depth: int = 0


class AttemptObserver(Protocol):
    """Told about every upstream attempt that failed (metering logs each one; routing may cool down)."""

    def attempt_failed(self, deployment: DeploymentRecord, error: UpstreamError, elapsed: float) -> None: ...


class NoObserver:
    def attempt_failed(self, deployment: DeploymentRecord, error: UpstreamError, elapsed: float) -> None:
        return None


NO_OBSERVER = NoObserver()


def model_not_found(model: str) -> ModelNotFound:
    return ModelNotFound(f"The model `{model}` does not exist or you do not have access to it.", param="model")


def weighted_order(deployments: Sequence[DeploymentRecord], rng: random.Random | None = None) -> list[DeploymentRecord]:
    """All deployments, ordered by weighted random draws without replacement (simple-shuffle)."""
    pool = list(deployments)
    draw = rng or random
    ordered: list[DeploymentRecord] = []
    while pool:
        weights = [max(d.weight, 0.0) for d in pool]
        if sum(weights) <= 0:
            weights = [1.0] * len(pool)
        choice = draw.choices(range(len(pool)), weights=weights)[0]
        ordered.append(pool.pop(choice))
    return ordered


def fallback_models(table: RoutingTable, model: str, options: CallOptions) -> tuple[str, ...]:
    """Per-request fallbacks, else the router's `fallbacks` entry for this model."""
    if options.fallbacks is not None:
        return options.fallbacks
    for entry in table.settings.get("fallbacks") or ():
        if isinstance(entry, dict) and model in entry:
            return tuple(entry[model])
    return ()


async def try_group(table: RoutingTable, model: str, options: CallOptions, attempt: Attempt[T],
                    observer: AttemptObserver = NO_OBSERVER) -> Served[T]:
    """Try the group's deployments until one answers or the retry budget is spent."""
    deployments = table.deployments(model)
    if not deployments:
        raise model_not_found(model)
    retries = options.num_retries if options.num_retries is not None else int(table.settings.get("num_retries", 2))
    order = weighted_order(deployments)
    last_error: UpstreamError | None = None
    for number in range(retries + 1):
        deployment = order[number % len(order)]
        started = time.monotonic()
        try:
            return Served(await attempt(deployment), deployment, attempts=number + 1)
        except UpstreamError as error:
            observer.attempt_failed(deployment, error, time.monotonic() - started)
            if not error.retryable:
                raise
            last_error = error
    assert last_error is not None
    raise last_error


async def route(table: RoutingTable, model: str, options: CallOptions, attempt: Attempt[T],
                observer: AttemptObserver = NO_OBSERVER) -> Served[T]:
    """Serve `model`, falling back to the configured groups when every attempt on it fails."""
    try:
        return await try_group(table, model, options, attempt, observer)
    except UpstreamError as error:
        if not error.retryable:
            raise
        failure = error
    for depth, fallback in enumerate(fallback_models(table, model, options), start=1):
        if not table.deployments(fallback):
            continue
        try:
            served = await try_group(table, fallback, options, attempt, observer)
        except UpstreamError as error:
            failure = error
            continue
        return Served(served.value, served.deployment, served.attempts, fallback_depth=depth)
    raise failure
