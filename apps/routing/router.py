"""Serve a model group: pick a deployment by strategy, retry on one budget, cool failures down, fall back.

One call gets ONE retry budget (`num_retries`, per request or router-wide, or `retry_policy`'s count for the
error's kind) that every retry spends,
whichever deployment or fallback group it lands on, so retries never multiply (LiteLLM #7262). The
first attempt in a fallback group is not a retry; `max_fallbacks` bounds how many groups are tried.
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from apps.core.errors import GatewayError, InvalidRequest, ModelNotFound, RateLimited
from apps.core import tracing
from apps.core.metrics import record_upstream
from apps.providers import genai_spans
from apps.providers.base import ChatCall, EmbeddingCall, UpstreamError, Usage
from apps.providers.tokens import chat_tokens, input_tokens
from apps.routing import runtime
from apps.routing.error_kinds import error_kind
from apps.routing.parsing import CallOptions
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.strategies import STRATEGIES, CallShape, DeploymentStats

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Attempt = Callable[[DeploymentRecord], Awaitable[T]]
Sleep = Callable[[float], Awaitable[None]]
_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class Avoid:
    """Deployments a call must not go to (a resumed stream's failed ones), and the error that ruled them out."""

    ids: frozenset[str]
    error: UpstreamError


@dataclass(frozen=True, slots=True)
class Served(Generic[T_co]):
    """A successful result and where it came from."""

    value: T_co
    deployment: DeploymentRecord
    attempts: int = 1
    fallback_depth: int = 0
    model_group: str = ""


class AttemptObserver(Protocol):
    """Told about every upstream attempt that failed (metering logs each one; routing may cool down)."""

    def attempt_failed(self, deployment: DeploymentRecord, error: UpstreamError, elapsed: float) -> None: ...


class NoObserver:
    def attempt_failed(self, deployment: DeploymentRecord, error: UpstreamError, elapsed: float) -> None:
        return None


NO_OBSERVER = NoObserver()


class NoDeploymentAvailable(RateLimited):
    """Every deployment of the group is cooling down or over its rpm/tpm this minute."""

    code = "no_deployments_available"


class UnsupportedProvider(InvalidRequest):
    """Every deployment of the group names a provider no adapter serves (the config loaded it with a warning)."""

    code = "unsupported_provider"


def unsupported_provider(group: str, deployments: tuple[DeploymentRecord, ...]) -> UnsupportedProvider:
    providers = ", ".join(sorted({repr(d.target.provider) for d in deployments}))
    return UnsupportedProvider(f"The model `{group}` is served by provider {providers}, which Tollgate does not "
                               f"support; use a supported provider in its deployment.", param="model")


# model_info.mode -> the calls it serves (LiteLLM's modes; "completion" and "responses" models take chat calls here)
MODE_SERVES = {"chat": "chat", "completion": "chat", "responses": "chat", "embedding": "embedding",
               "rerank": "rerank", "moderation": "moderation", "image_generation": "image_generation",
               "image_edit": "image_generation", "audio_transcription": "audio_transcription",
               "audio_speech": "audio_speech"}
MODE_ENDPOINTS = {"embedding": "/v1/embeddings", "rerank": "/v1/rerank", "moderation": "/v1/moderations",
                  "image_generation": "/v1/images/generations", "audio_transcription": "/v1/audio/transcriptions",
                  "audio_speech": "/v1/audio/speech"}


def serves(deployment: DeploymentRecord, call_mode: str) -> bool:
    """A deployment without a mode serves any call; one with a mode only the calls of that kind."""
    return not deployment.mode or not call_mode or MODE_SERVES.get(deployment.mode) == call_mode


def wrong_mode(group: str, deployments: tuple[DeploymentRecord, ...], call_mode: str) -> InvalidRequest:
    modes = ", ".join(sorted({d.mode for d in deployments}))
    endpoint = MODE_ENDPOINTS.get(call_mode, "/v1/chat/completions")
    return InvalidRequest(f"The model `{group}` has model_info.mode {modes} and is not served on {endpoint}.",
                          param="model", code="model_mode_mismatch")


def model_not_found(model: str) -> ModelNotFound:
    return ModelNotFound(f"The model `{model}` does not exist or you do not have access to it.", param="model")


def call_shape(call: ChatCall | EmbeddingCall | None) -> CallShape:
    """What the router may know of a call before sending it: prompt size, completion cap, streaming."""
    if isinstance(call, ChatCall):
        return CallShape(prompt_tokens=chat_tokens(call.messages, call.params.get("tools")),
                         max_completion_tokens=call.max_tokens, stream=call.stream, mode="chat")
    if isinstance(call, EmbeddingCall):
        return CallShape(prompt_tokens=input_tokens(call.input), max_completion_tokens=0, mode="embedding")
    return CallShape()


def fallback_kind(error: GatewayError) -> str | None:
    """Which fallback list an error sends the call to, or None when it must reach the client as is."""
    if isinstance(error, UpstreamError):
        if error.is_context_window:
            return "context_window"
        if error.is_content_policy:
            return "content_policy"
        return "generic" if error.retryable else None
    return "generic" if isinstance(error, NoDeploymentAvailable) else None


FALLBACK_KINDS = ("generic", "context_window", "content_policy")


def fallback_models(table: RoutingTable, model: str, options: CallOptions) -> tuple[str, ...]:
    """Every group a call to `model` may fall back to, of any kind (budget reservations price them all)."""
    names: list[str] = []
    for kind in FALLBACK_KINDS:
        found = options.fallbacks if kind == "generic" and options.fallbacks is not None \
            else table.policy.fallbacks_for(kind, model)
        names.extend(name for name in found if name not in names and name != model)
    return tuple(names)


def context_window_error(group: str, prompt_tokens: int) -> UpstreamError:
    return UpstreamError(f"The prompt (about {prompt_tokens} tokens) exceeds the context window of every "
                         f"deployment of `{group}`.", status=400, error_type="invalid_request_error",
                         code="context_length_exceeded", param="messages")


def no_deployment_error(group: str, stats: dict[str, DeploymentStats], now: float) -> NoDeploymentAvailable:
    """A 429 whose Retry-After is when the first deployment comes back (a cooldown or the next minute)."""
    next_minute = (runtime.minute_of(now) + 1) * runtime.MINUTE
    back = min([s.cooldown_until for s in stats.values() if s.cooldown_until] + [next_minute])
    seconds = max(1, math.ceil(back - now))
    return NoDeploymentAvailable(f"No deployment of `{group}` is available: every one is cooling down or at its "
                                 f"rate limit. Retry after {seconds}s.", headers={"Retry-After": str(seconds)})


class CallRouter(Generic[T]):
    """One call's walk through deployments and fallback groups, with its single retry budget."""

    def __init__(self, table: RoutingTable, options: CallOptions, attempt: Attempt[T], observer: AttemptObserver,
                 *, shape: CallShape, rng: random.Random, sleep: Sleep, avoid: Avoid | None = None) -> None:
        self.table, self.policy, self.options = table, table.policy, options
        self.avoid = avoid
        self.attempt, self.observer = attempt, observer
        self.shape, self.rng, self.sleep = shape, rng, sleep
        self.num_retries = options.num_retries if options.num_retries is not None else self.policy.num_retries
        self.retries = 0  # spent so far, on any deployment or group
        self.attempts = 0

    def fallbacks(self, kind: str, model: str) -> tuple[str, ...]:
        if kind == "generic" and self.options.fallbacks is not None:
            return self.options.fallbacks
        return self.policy.fallbacks_for(kind, model)

    async def serve(self, model: str) -> Served[T]:
        """Serve `model`, moving down its fallback list when its group cannot."""
        group, depth, kind = model, 0, ""
        queue: list[str] = []
        tried = {model}
        while True:
            try:
                value, deployment = await self.serve_group(group)
                return Served(value, deployment, self.attempts, fallback_depth=depth, model_group=group)
            except GatewayError as error:
                next_kind = fallback_kind(error)
                if next_kind is None:
                    raise self.final(error) from None
                if next_kind != kind:
                    kind, queue = next_kind, [g for g in self.fallbacks(next_kind, model) if g not in tried]
                queue = [g for g in queue if self.table.deployments(g)]
                if not queue or depth >= self.policy.max_fallbacks:
                    raise self.final(error) from None
                group, depth = queue.pop(0), depth + 1
                tried.add(group)

    def final(self, error: GatewayError) -> GatewayError:
        """The error the client gets; after our own retries, tell SDKs not to multiply them."""
        if self.attempts > 1:
            error.headers["x-should-retry"] = "false"
        return error

    async def serve_group(self, group: str) -> tuple[T, DeploymentRecord]:
        """Try the group's deployments until one answers or the retry budget is spent."""
        listed = self.table.deployments(group)
        if not listed:
            raise model_not_found(group)
        fitting = tuple(d for d in listed if serves(d, self.shape.mode))
        if not fitting:
            raise wrong_mode(group, listed, self.shape.mode)
        deployments = tuple(d for d in fitting if d.supported)
        if not deployments:
            raise unsupported_provider(group, fitting)
        if self.avoid is not None:
            deployments = tuple(d for d in deployments if d.id not in self.avoid.ids)
            if not deployments:
                raise self.avoid.error  # the group has no other deployment: on to its fallbacks
        failed: set[str] = set()
        while True:
            deployment = await self.pick(group, deployments, failed)
            try:
                return await self.call_one(deployment, len(deployments)), deployment
            except UpstreamError as error:
                if self.retries >= self.allowed_retries(group, error, deployment):
                    raise
                self.retries += 1
                failed.add(deployment.id)
                await self.wait_before_retry(error, untried=len(failed) < len(deployments))

    def allowed_retries(self, group: str, error: UpstreamError, deployment: DeploymentRecord) -> int:
        """The call's retry budget for this error, as LiteLLM ranks them: `retry_policy`'s count for its kind (which
        may retry an error not retried by default), else for retryable errors the failing deployment's own
        num_retries, else the call's; none for the rest."""
        counted = self.policy.retries_for(group, error_kind(error))
        if counted is not None:
            return counted
        if not error.retryable:
            return 0
        return deployment.num_retries if deployment.num_retries is not None else self.num_retries

    async def pick(self, group: str, deployments: tuple[DeploymentRecord, ...], failed: set[str]) -> DeploymentRecord:
        """The strategy's choice among deployments that fit the prompt, are not cooling and are under limits."""
        now = time.time()
        fitting = [d for d in deployments if self.fits(d)]
        if not fitting:
            raise context_window_error(group, self.shape.prompt_tokens)
        if len(deployments) == 1 and deployments[0].rpm is None and deployments[0].tpm is None:
            return deployments[0]  # a lone deployment is never cooled and has no limits: no state to read
        stats = await runtime.read_stats(fitting, now=now)
        live = [d for d in fitting if not stats[d.id].cooldown_until and not runtime.over_limit(d, stats[d.id])]
        if not live:
            raise no_deployment_error(group, stats, now)
        fresh = lowest_order([d for d in live if d.id not in failed] or live)
        strategy = STRATEGIES[self.policy.strategy]
        return strategy(fresh, stats=stats, shape=self.shape, policy=self.policy, rng=self.rng)

    def fits(self, deployment: DeploymentRecord) -> bool:
        """Pre-call check: the prompt fits the deployment's context window (when checks are on and it is known)."""
        window = deployment.max_input_tokens
        return not (self.policy.enable_pre_call_checks and window and self.shape.prompt_tokens > window)

    async def call_one(self, deployment: DeploymentRecord, group_size: int) -> T:
        """One upstream attempt, with its usage, latency and failure bookkeeping."""
        tracking = runtime.Tracking.for_call(deployment, self.policy)
        self.attempts += 1
        started = time.monotonic()
        await runtime.attempt_started(deployment, tracking, now=time.time())
        usage: Usage | None = None
        tokens = 0
        try:
            value = await self.attempt(deployment)
            usage = _usage_of(value)
            tokens = usage.total_tokens if usage else self.shape.prompt_tokens
        except UpstreamError as error:
            await runtime.failure_record(deployment, error, policy=self.policy, group_size=group_size)
            self.observer.attempt_failed(deployment, error, time.monotonic() - started)
            raise
        finally:
            record_upstream(deployment.public_id, time.monotonic() - started)
            await runtime.attempt_finished(deployment, tracking, tokens=tokens)
        if tracking.latency:
            await runtime.latency_record(deployment.id, seconds=time.monotonic() - started,
                                         tokens=usage.completion_tokens if usage else 0, stream=self.shape.stream,
                                         weight=self.policy.latency_weight)
        return value

    async def wait_before_retry(self, error: UpstreamError, *, untried: bool) -> None:
        """No wait when another deployment can take the retry; else backoff, or the upstream's Retry-After."""
        if error.retry_after is not None and error.retry_after > self.policy.max_retry_wait:
            raise error
        if untried:
            return
        exponent = self.attempts - 1  # 0 before the first retry, then 1, 2, ...
        delay = error.retry_after if error.retry_after is not None else (
            min(self.policy.backoff_max, self.policy.backoff_base * 2 ** exponent) * self.rng.uniform(0.5, 1))
        delay = max(delay, self.policy.retry_after)
        if delay > 0:
            await self.sleep(delay)


def lowest_order(deployments: list[DeploymentRecord]) -> list[DeploymentRecord]:
    """LiteLLM's `order`: when any deployment sets one, only those with the lowest order are candidates."""
    orders = [d.order for d in deployments if d.order is not None]
    if not orders:
        return deployments
    first = min(orders)
    return [d for d in deployments if d.order == first]


def _usage_of(value: Any) -> Usage | None:
    usage = getattr(value, "usage", None)
    return usage if isinstance(usage, Usage) else None


async def route(table: RoutingTable, model: str, options: CallOptions, attempt: Attempt[T],
                observer: AttemptObserver = NO_OBSERVER, *, call: ChatCall | EmbeddingCall | None = None,
                rng: random.Random | None = None, sleep: Sleep = asyncio.sleep,
                shape: CallShape | None = None, avoid: Avoid | None = None) -> Served[T]:
    """Serve `model` from its deployments, retrying and falling back as the router policy says (`shape`, for
    calls other than chat and embeddings, says what the router may know of the call; `avoid`, deployments not
    to use)."""
    shape = shape or call_shape(call)
    if tracing.ENABLED:  # each attempt in a GenAI client span: retries and fallbacks are sibling spans
        attempt = genai_spans.traced(attempt, call_type=getattr(observer, "call_type", "") or shape.mode, call=call)
    router: CallRouter[T] = CallRouter(table, options, attempt, observer, shape=shape, rng=rng or _RNG, sleep=sleep,
                                       avoid=avoid)
    return await router.serve(model)
