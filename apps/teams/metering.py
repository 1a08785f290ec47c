"""The /v1 hot path's budget step: reserve the worst case before a call, settle the real cost after, log spend.

No ORM here: limits come from the key snapshot, counters from the state backend, and spend events go
into the state backend's buffer for `spend_flush` to store.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from apps.core import jsonutil
from apps.core import tracing
from apps.teams.call_metrics import NANOS_PER_USD, record_events
from apps.core.state import state
from apps.core.state.base import Admission, LedgerLimits, Settlement
from apps.providers.base import Target, UpstreamError, Usage
from apps.teams import leases, settle_queue
from apps.teams.auth import Principal
from apps.teams.costing import Price, from_nanos, usage_cost_nanos
from apps.teams.durations import next_reset
from apps.teams.end_user_snapshot import end_user_cache
from apps.teams.errors import BudgetExceeded, EndUserBlocked, LimitReached
from apps.teams.live_feed import feed_count
from apps.teams.model_limits import model_lookup
from apps.teams.proxy_budget import proxy_scopes
from apps.teams.snapshot import BudgetScope

WORKER_LOST = "worker_lost"  # a call whose process died before settling it (CallIntent)
LEVEL_LABELS = {"key_model": "Key", "team_model": "Team", "key": "Key", "user": "User", "team_member": "Team member", "team": "Team",
                "organization": "Organization", "end_user": "End User", "proxy": "Proxy"}


def window_end(scope: BudgetScope, now: float) -> tuple[float, bool]:
    """(end of the current budget window or 0, whether the stored spend belongs to an ended window)."""
    if scope.duration is None or scope.reset_at is None:
        return 0.0, False
    if scope.reset_at > now:
        return scope.reset_at, False
    moment = datetime.fromtimestamp(now, UTC)
    return next_reset(datetime.fromtimestamp(scope.reset_at, UTC), scope.duration, moment).timestamp(), True


def ledger_limits(scope: BudgetScope, now: float) -> LedgerLimits:
    """The state backend's view of one level; spend from an ended window is not carried over (lazy reset)."""
    end, stale = window_end(scope, now)
    return LedgerLimits(ledger=scope.ledger, max_budget=scope.budget_at(now), seed_spend=0 if stale else scope.spend,
                        window_end=end, rpm_limit=scope.rpm_limit, tpm_limit=scope.tpm_limit,
                        max_parallel=scope.max_parallel_requests)


def limited(scope: BudgetScope) -> bool:
    return any(v is not None for v in (scope.max_budget, scope.rpm_limit, scope.tpm_limit,
                                       scope.max_parallel_requests))


def dollars(nanos: int) -> str:
    text = format(from_nanos(nanos).normalize(), "f")
    return text


def refusal_error(scope: BudgetScope, admission: Admission) -> Exception:
    """LiteLLM's message for the level that refused."""
    who = f"{LEVEL_LABELS[scope.level]}={scope.label}"
    if admission.reason == "budget":
        return BudgetExceeded(f"Budget has been exceeded! {who} Current cost: {dollars(admission.spend)}, "
                              f"Max budget: {dollars(admission.limit)}", param=scope.level)
    headers = {"Retry-After": str(admission.retry_after)}
    if admission.reason == "parallel":
        return LimitReached(f"Max parallel request limit reached for {who}: {admission.spend} in flight, "
                            f"limit {admission.limit}.", param=scope.level, headers=headers)
    return LimitReached(f"Rate limit reached for {who}: {admission.reason}_limit {admission.limit} "
                        f"(current {admission.spend}). Retry after {admission.retry_after}s.",
                        param=scope.level, headers=headers)


class Billed(Protocol):
    """The deployment an attempt went to, as its spend event names it (routing's DeploymentRecord is one)."""

    @property
    def id(self) -> str: ...

    @property
    def public_id(self) -> str: ...  # LiteLLM's model id, which spend rows name (as its spend logs' model_id)

    @property
    def target(self) -> Target: ...


@dataclass(frozen=True, slots=True)
class SpendEvent:
    """One upstream attempt, as buffered for the SpendLog table."""

    request_id: str
    attempt: int
    key_id: int | None
    key_hash: str
    team_id: str | None  # public string ids, as SpendLog and LiteLLM keep them
    user_id: str | None
    organization_id: str | None
    model_alias: str
    deployment_id: str
    provider: str
    call_type: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_nanos: int
    latency_ms: int
    ttft_ms: int | None
    status: str
    error_type: str
    start_time: float
    end_time: float
    tags: tuple[str, ...] = ()
    end_user: str = ""
    # A refused call only: the refusing level ("key", "team", ...), its limit ("budget", "rpm", "tpm",
    # "parallel"), and the level's spend in USD (or its count) against the limit.
    limit_level: str = ""
    limit_kind: str = ""
    limit_current: float | None = None
    limit_max: float | None = None

    def encode(self) -> bytes:
        return jsonutil.dumps(self)  # orjson writes a dataclass's fields in order, natively

    @classmethod
    def decode(cls, raw: bytes) -> SpendEvent:
        data = jsonutil.loads(raw)
        data["tags"] = tuple(data.get("tags") or ())
        return cls(**data)

    @property
    def cost(self) -> Decimal:
        return from_nanos(self.cost_nanos)


@dataclass(slots=True)
class Meter:
    """One call's reservation and spend events; also the router's AttemptObserver for failed attempts."""

    principal: Principal
    request_id: str
    call_type: str
    model: str
    levels: Sequence[LedgerLimits]
    reserved: int
    clipped: str = ""  # the admission's marks, handed back when settling
    estimate_prompt: Callable[[], int] = lambda: 0  # prompt tokens when the provider reports none
    tags: tuple[str, ...] = ()
    end_user: str = ""
    started: float = field(default_factory=time.time)
    events: list[SpendEvent] = field(default_factory=list)
    settled: bool = False
    ticket: leases.Ticket | None = None  # admitted under this process's leases instead of by the state backend
    carried_nanos: int = 0  # resumed streams: the cost of earlier attempts that failed after sending text
    # attempt -> the configured group its deployment serves (a wildcard group's pattern, never the name asked for):
    # the bounded `model_group` label of the call metrics
    groups: dict[int, str] = field(default_factory=dict)
    carried_tokens: int = 0
    intent: bool = False  # recorded with the state backend (`CallIntent`): its settle deletes it

    def event(self, deployment: Billed, usage: Usage, *, status: str, error_type: str = "",
              cost_nanos: int = 0, elapsed: float | None = None, ttft: float | None = None) -> SpendEvent:
        """A spend event for the next attempt number."""
        key = self.principal.key
        end = time.time()
        # A successful attempt started when the last failed one ended (or with the call).
        start = end - elapsed if elapsed is not None else (self.events[-1].end_time if self.events else self.started)
        self.groups[len(self.events) + 1] = str(getattr(deployment, "model_name", "") or "")
        return SpendEvent(
            request_id=self.request_id, attempt=len(self.events) + 1, key_id=key.id if key else None,
            key_hash=key.token_hash if key else "", team_id=key.team_id if key else None,
            user_id=key.user_id if key else None, organization_id=key.organization_id if key else None,
            model_alias=self.model, deployment_id=deployment.public_id, provider=deployment.target.provider,
            call_type=self.call_type, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens, cost_nanos=cost_nanos, latency_ms=int((end - start) * 1000),
            ttft_ms=int(ttft * 1000) if ttft is not None else None, status=status, error_type=error_type,
            start_time=start, end_time=end, tags=self.tags, end_user=self.end_user)

    def attempt_seconds(self) -> float:
        """How long the current attempt has run: since the last failed one ended (or the call started)."""
        return time.time() - (self.events[-1].end_time if self.events else self.started)

    def attempt_failed(self, deployment: Billed, error: UpstreamError, elapsed: float) -> None:
        self.events.append(self.event(deployment, Usage(), status="failure", elapsed=elapsed,
                                      error_type=error.error_code or error.error_type))

    def attempt_cut(self, deployment: Billed, usage: Usage, *, price: Price, error_type: str,
                    ttft: float | None) -> None:
        """A stream attempt cut after sending text, to be resumed elsewhere: its event, priced like any cut stream,
        is settled with the call's last attempt."""
        cost = usage_cost_nanos(price, usage, self.attempt_seconds())
        self.events.append(self.event(deployment, usage, status="failure", error_type=error_type, cost_nanos=cost,
                                      ttft=ttft))
        self.carried_nanos += cost
        self.carried_tokens += usage.total_tokens

    def settlement(self, deployment: Billed | None, usage: Usage, *, price: Price | None, status: str = "success",
                   error_type: str = "", ttft: float | None = None, cost_nanos: int | None = None) -> Settlement | None:
        """The reservation settled at the real cost (usage x the serving deployment's price, or `cost_nanos` for
        calls not billed per token), with every attempt's event; None once already settled."""
        if self.settled:
            return None
        self.settled = True
        team_id = self.principal.key.team_id if self.principal.key is not None else None
        feed_count("calls", team_id)
        if status == "failure":
            feed_count("errors", team_id)
        own = cost_nanos if cost_nanos is not None else \
            usage_cost_nanos(price, usage, self.attempt_seconds()) if price is not None else 0
        if deployment is not None:
            self.events.append(self.event(deployment, usage, status=status, error_type=error_type,
                                          cost_nanos=own, ttft=ttft))
        actual, tokens = own + self.carried_nanos, usage.total_tokens + self.carried_tokens
        records = [event.encode() for event in self.events]
        record_events(self.principal.key, self.events, groups=self.groups)
        if tracing.ENABLED:
            tracing.annotate(span_attributes(self, actual, status))
        book = leases.current_book()
        intent = self.request_id if self.intent else ""
        if self.ticket is not None and book is not None:
            book.settle(self.ticket, actual, tokens)  # reaches the backend with the book's next report
            return Settlement((), records, reserved=0, actual=actual, tokens=tokens, now=time.time(), intent=intent)
        return Settlement(self.levels, records, reserved=self.reserved, actual=actual, tokens=tokens,
                          now=time.time(), clipped=self.clipped, intent=intent)

    async def finish(self, deployment: Billed | None, usage: Usage, *, price: Price | None, status: str = "success",
                     error_type: str = "", ttft: float | None = None) -> None:
        """Settle the reservation at the real cost and buffer every attempt's event (once), now."""
        settlement = self.settlement(deployment, usage, price=price, status=status, error_type=error_type, ttft=ttft)
        if settlement is not None:
            await state().settle_and_push_many([settlement])

    def finish_soon(self, deployment: Billed | None, usage: Usage, *, price: Price | None, status: str = "success",
                    error_type: str = "", ttft: float | None = None, cost_nanos: int | None = None) -> None:
        """`finish` batched with other calls' (settle_queue): for answers on their way and cancelled calls."""
        settlement = self.settlement(deployment, usage, price=price, status=status, error_type=error_type, ttft=ttft,
                                     cost_nanos=cost_nanos)
        if settlement is not None:
            settle_queue.settle_later(settlement)


def span_attributes(meter: Meter, cost_nanos: int, status: str) -> dict[str, object]:
    """The settled call as its request span shows it: who called (the key's alias or hash prefix, never the key),
    its team, cost and outcome."""
    key = meter.principal.key
    return {"tollgate.request_id": meter.request_id, "tollgate.call_type": meter.call_type,
            "tollgate.model_group": meter.model, "tollgate.call.status": status,
            "tollgate.cost_usd": cost_nanos / NANOS_PER_USD, "tollgate.attempts": len(meter.events),
            "tollgate.key.alias": key.key_alias or None if key else None,
            "tollgate.key.hash_prefix": key.token_hash[:12] if key else None,
            "tollgate.team.id": key.team_id if key else None}


async def drain() -> None:
    """Send every queued settlement (shutdown)."""
    await settle_queue.drain()


def call_scopes(principal: Principal, model: str) -> tuple[BudgetScope, ...]:
    """The key's limited levels for this call: its and its team's levels for the model (where they have one), then
    its own levels.

    A key with no per-model limits costs nothing more here than its own levels.
    """
    key = principal.key
    if key is None:
        return ()
    scopes = tuple(s for s in key.scopes if limited(s))
    if key.model_scopes:
        per_model = (model_lookup(table, model) for table in key.model_scopes)
        scopes = (*(s for s in per_model if s is not None and limited(s)), *scopes)
    return scopes


async def end_user_scopes(end_user: str) -> tuple[BudgetScope, ...]:
    """The end user's level (none without a budget); raises when the end user is blocked."""
    record = await end_user_cache.get(end_user)
    if record is None:
        return ()
    if record.blocked:
        raise EndUserBlocked(f"User blocked from making LLM API Calls. User={end_user}", param="user")
    return (record.scope,) if record.scope is not None and limited(record.scope) else ()


def call_tags(principal: Principal, tags: tuple[str, ...]) -> tuple[str, ...]:
    """The key's tags, then the request's (each once), as LiteLLM merges them onto a spend row."""
    key_tags = principal.key.tags if principal.key is not None else ()
    if not key_tags:
        return tags
    return tuple(dict.fromkeys((*key_tags, *tags)))


async def admit(principal: Principal, *, model: str, call_type: str, worst_case: Callable[[], int],
                request_id: str = "", estimate_prompt: Callable[[], int] = lambda: 0,
                tags: tuple[str, ...] = (), end_user: str = "", rate_limited: bool = True) -> Meter:
    """Reserve the worst case at every limited level of the caller's key (and end user) and the proxy's, or raise
    400 / 429. `rate_limited=False`: a call inside one already admitted (an agent's model call), held to the
    budgets and tpm but not again to rpm or parallel limits.

    Keys with no budget or limit anywhere skip the state backend (and the estimate) entirely; a call that fits
    in this process's leases of every level is admitted here (apps.teams.leases), any other by the backend.
    """
    now = time.time()
    request_id = request_id or f"req-{uuid.uuid4().hex}"

    def refused(refusal: Refusal) -> None:
        refusal_record(refusal_event(principal, refusal, request_id=request_id, model=model, call_type=call_type,
                                     tags=call_tags(principal, tags), end_user=end_user, now=now))

    scopes = call_scopes(principal, model)
    if end_user:
        try:
            scopes = (*scopes, *await end_user_scopes(end_user))
        except EndUserBlocked:
            refused(Refusal(level="end_user", kind="blocked", error_type=EndUserBlocked.code))
            raise
    scopes += await proxy_scopes.get()  # the proxy-wide budget, widest level last; the master key counts too
    levels = tuple(ledger_limits(scope, now) for scope in scopes)
    if not rate_limited:
        levels = tuple(replace(level, rpm_limit=None, max_parallel=None) for level in levels)
    admission = Admission(True)
    ticket = None
    if levels:
        amount = worst_case()
        book = leases.book()
        ticket = book.admit(levels, amount, now) if book is not None else None
        if ticket is not None:
            admission = Admission(True, reserved=amount)
        else:
            admission = await state().admit(levels, amount=amount, now=now)
            if not admission.admitted:
                refused(Refusal.of(scopes[admission.index], admission))
                raise refusal_error(scopes[admission.index], admission)
    meter = Meter(principal=principal, request_id=request_id, call_type=call_type,
                  model=model, levels=levels, reserved=admission.reserved, clipped=admission.clipped,
                  estimate_prompt=estimate_prompt, tags=call_tags(principal, tags), end_user=end_user, started=now,
                  ticket=ticket)
    backend = state()
    if not backend.in_process:
        backend.intent_open(request_id, CallIntent.record(meter))
        meter.intent = True
    return meter


@dataclass(frozen=True, slots=True)
class CallIntent:
    """An admitted call as recorded before it runs (`StateBackend.intent_open`), so that if its process dies
    mid-call (SIGKILL, OOM) a sweeper (`spend_sweep`) writes its spend row and settles its reservation.

    The row has status and error type "worker_lost" and is charged `charge`: the reservation, the call's worst
    case. What a dead process had streamed so far is known only to it (counting it elsewhere would cost a round
    trip per chunk), and the worst case is what the budget held for the call, so the budget is never charged
    less than the call could have cost (a call with no limited level reserves nothing: its row costs 0).
    Recorded as a small JSON object (`record`), built on the hot path without dataclasses.
    """

    request_id: str
    key_id: int | None
    key_hash: str
    team_id: str | None
    user_id: str | None
    organization_id: str | None
    model: str
    call_type: str
    started: float
    tags: tuple[str, ...]
    end_user: str
    levels: tuple[LedgerLimits, ...]
    reserved: int
    clipped: str
    leased: bool  # admitted under this process's leases: the dead process's lease is reclaimed on its own

    @property
    def charge(self) -> int:
        return self.reserved

    @staticmethod
    def record(meter: Meter) -> bytes:
        """The meter's intent, encoded (about 2 us: this runs for every call)."""
        key = meter.principal.key
        return jsonutil.dumps({
            "request_id": meter.request_id, "key_id": key.id if key else None, "key_hash": key.token_hash if key else "",
            "team_id": key.team_id if key else None, "user_id": key.user_id if key else None,
            "organization_id": key.organization_id if key else None, "model": meter.model,
            "call_type": meter.call_type, "started": meter.started, "tags": meter.tags, "end_user": meter.end_user,
            "levels": meter.levels, "reserved": meter.reserved, "clipped": meter.clipped,
            "leased": meter.ticket is not None})

    @classmethod
    def decode(cls, raw: bytes) -> CallIntent:
        data = jsonutil.loads(raw)
        data["tags"] = tuple(data.get("tags") or ())
        data["levels"] = tuple(LedgerLimits(**level) for level in data["levels"])
        return cls(**data)

    def row(self, now: float) -> bytes:
        """The spend row of the call, ended `now`."""
        return SpendEvent(
            request_id=self.request_id, attempt=1, key_id=self.key_id, key_hash=self.key_hash, team_id=self.team_id,
            user_id=self.user_id, organization_id=self.organization_id, model_alias=self.model, deployment_id="",
            provider="", call_type=self.call_type, prompt_tokens=0, completion_tokens=0, cached_tokens=0,
            cost_nanos=self.charge, latency_ms=max(0, int((now - self.started) * 1000)), ttft_ms=None,
            status=WORKER_LOST, error_type=WORKER_LOST, start_time=self.started, end_time=now, tags=self.tags,
            end_user=self.end_user).encode()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call was refused: the level ("key", "team", "end_user", ...), the limit ("budget", "rpm", "tpm",
    "parallel", "blocked"), and the level's spend in USD (or its count) against that limit."""

    level: str
    kind: str
    error_type: str
    current: float | None = None
    limit: float | None = None

    @classmethod
    def of(cls, scope: BudgetScope, admission: Admission) -> Refusal:
        money = admission.reason == "budget"
        return cls(level=scope.level, kind=admission.reason,
                   error_type="budget_exceeded" if money else f"{admission.reason}_limit",
                   current=float(from_nanos(admission.spend)) if money else float(admission.spend),
                   limit=float(from_nanos(admission.limit)) if money else float(admission.limit))


def refusal_event(principal: Principal, refusal: Refusal, *, request_id: str, model: str, call_type: str,
                  tags: tuple[str, ...], end_user: str, now: float) -> SpendEvent:
    """The spend row of a refused call: no attempt, no cost, the level and limit that refused it."""
    key = principal.key
    return SpendEvent(
        request_id=request_id, attempt=1, key_id=key.id if key else None,
        key_hash=key.token_hash if key else "", team_id=key.team_id if key else None,
        user_id=key.user_id if key else None, organization_id=key.organization_id if key else None,
        model_alias=model, deployment_id="", provider="", call_type=call_type, prompt_tokens=0, completion_tokens=0,
        cached_tokens=0, cost_nanos=0, latency_ms=0, ttft_ms=None, status="refused", error_type=refusal.error_type,
        start_time=now, end_time=time.time(), tags=tags, end_user=end_user, limit_level=refusal.level,
        limit_kind=refusal.kind, limit_current=refusal.current, limit_max=refusal.limit)


def refusal_record(event: SpendEvent) -> None:
    """Buffer a refused call's spend row with the next finished calls' (no round trip of its own), and count it
    in the live feed."""
    settle_queue.settle_later(Settlement((), [event.encode()], reserved=0, actual=0, tokens=0, now=event.end_time))
    feed_count("refused", event.team_id)


def request_tags(params: Mapping[str, object]) -> tuple[str, ...]:
    """`metadata.tags` and `tags` from the request body (LiteLLM's request tags), each once."""
    metadata = params.get("metadata")
    if isinstance(metadata, str) and metadata.startswith("{"):  # a multipart form's metadata is JSON text
        try:
            metadata = jsonutil.loads(metadata)
        except ValueError:
            metadata = None
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    found = tuple(str(tag) for tag in tags) if isinstance(tags, list) else ()
    extra = params.get("tags")
    if not isinstance(extra, list) or not extra:  # the usual case: no top-level tags
        return found
    return tuple(dict.fromkeys((*found, *(str(tag) for tag in extra))))


def request_end_user(params: Mapping[str, object]) -> str:
    """The call's end user: the body's `user` field (LiteLLM's end-user id), else `litellm_metadata.user`."""
    user = params.get("user")
    if user is None:
        metadata = params.get("litellm_metadata")
        user = metadata.get("user") if isinstance(metadata, dict) else None
    return str(user)[:200] if user is not None and user != "" else ""
