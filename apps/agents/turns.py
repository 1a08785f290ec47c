"""One turn of a task: admit the call (the key's limits, the agent's rpm, its price), store the task, run the
agent in the background under the caller's session, settle and log when it ends."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from apps.agents import hosted, remote, store
from apps.agents.code import answer_from
from apps.agents.errors import (A2AError, BudgetExhausted, InternalError, InvalidAgentResponse, InvalidParams,
                                PermissionDenied, RateLimited, Unauthenticated, Unavailable, UnsupportedOperation)
from apps.agents.ids import new_id
from apps.agents.registry import AgentRecord
from apps.agents.runs import ArtifactWriter, TaskRun, now_iso, running, start
from apps.agents.session import AgentSession, agent_tag, enter
from apps.agents.wire import INTERRUPTED, TERMINAL, Message, text_of
from apps.core.errors import GatewayError
from apps.core.state import state
from apps.providers.base import Target, Usage
from apps.teams.auth import Principal
from apps.teams.costing import from_nanos, to_nanos
from apps.teams.metering import Meter, admit

logger = logging.getLogger("tollgate.agents")


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who calls which agent, with the ids that follow the call."""

    principal: Principal
    agent: AgentRecord
    request_id: str
    trace_id: str
    extensions: str = ""  # the client's A2A-Extensions header, forwarded to remote agents
    depth: int = 0
    tags: tuple[str, ...] = ()  # the request's tags and end user (an agent called as a model: the chat body's)
    end_user: str = ""

    @property
    def owner(self) -> str:
        return owner_of(self.principal)


def owner_of(principal: Principal) -> str:
    return principal.token_hash or "master"


def owner_filter(principal: Principal) -> str | None:
    """Whose tasks a caller may read: its own, or (the master key) any."""
    return None if principal.is_master else owner_of(principal)


@dataclass(frozen=True, slots=True)
class AgentBilled:
    """The agent as its spend rows name it (the metering's Billed)."""

    id: str
    public_id: str
    target: Target


def a2a_error(error: GatewayError) -> A2AError:
    """A gateway refusal (budget, limits, auth, outage) as the A2A error a client reads."""
    kind = {400: BudgetExhausted, 401: Unauthenticated, 403: PermissionDenied, 429: RateLimited, 503: Unavailable}
    return kind.get(error.status, InternalError)(error.message, headers=dict(error.headers))


async def admit_agent(ctx: CallContext) -> Meter:
    """The agent's own rpm across callers, then the key's budgets and limits for its price (cost_per_query)."""
    agent = ctx.agent
    if agent.rpm_limit is not None:
        [count] = await state().add([(f"agent-rpm:{agent.agent_id}:{int(time.time() // 60)}", 1, 120)])
        if count > agent.rpm_limit:
            raise RateLimited(f"Rate limit reached for agent {agent.name}: rpm_limit {agent.rpm_limit}.",
                              headers={"Retry-After": str(60 - int(time.time()) % 60)})
    price = to_nanos(Decimal(repr(agent.cost_per_query)), up=True)
    try:
        return await admit(ctx.principal, model=agent.model, call_type="a2a", worst_case=lambda: price,
                           request_id=ctx.request_id, tags=(*ctx.tags, agent_tag(agent)), end_user=ctx.end_user,
                           rate_limited=ctx.depth == 0)  # a sub-agent call is inside the session admitted once
    except GatewayError as error:
        raise a2a_error(error) from None


async def begin(ctx: CallContext, message: Message, *,
                prepare: Callable[[str], Awaitable[None]] | None = None, streaming: bool = False,
                hidden: bool = False, prior: list[Message] | None = None) -> TaskRun:
    """A new task (or the next turn of one waiting for input) for `message`, running in the background;
    `prepare(task_id)` runs once the task is stored, before it starts; `streaming`: a client follows its events,
    so answers are published piece by piece; `hidden`: its id is given out only once it ends, so it is stored
    only then; `prior`: earlier turns a new task starts its history with (the chat bridge's conversation)."""
    remote_task_id = None
    continuing = bool(message.get("taskId"))
    if continuing:
        stored = await store.task_load(message["taskId"], agent_id=ctx.agent.agent_id,
                                       owner=owner_filter(ctx.principal))
        if message.get("contextId") and message["contextId"] != stored.task.get("contextId"):  # spec 3.4.3
            raise InvalidParams(f"Message contextId is not the context of task {message['taskId']}.",
                                data={"field": "message.contextId"})
        if stored.state in TERMINAL or running(message["taskId"]) is not None:
            raise UnsupportedOperation(f"Task {message['taskId']} is {stored.state}; it takes no new message.",
                                       data={"taskId": message["taskId"]})
        task, remote_task_id = stored.task, stored.remote_task_id
    else:
        task = {"id": new_id(), "contextId": message.get("contextId") or new_id(), "history": []}
        task["history"] = [{**turn, "taskId": task["id"], "contextId": task["contextId"]} for turn in prior or ()]
    task["status"] = {"state": "TASK_STATE_SUBMITTED", "timestamp": now_iso()}
    message = {**message, "taskId": task["id"], "contextId": task["contextId"]}  # type: ignore[typeddict-item]
    task.setdefault("history", []).append(message)
    meter = await admit_agent(ctx)
    run = TaskRun(task=task, agent_id=ctx.agent.agent_id, owner=ctx.owner, remote_task_id=remote_task_id,
                  stored=continuing, streaming=streaming, hidden=hidden and prepare is None)
    await run.publish({"task": {**task, "history": list(task["history"])}})  # history grows; the rest is replaced
    if prepare is not None:
        await prepare(task["id"])
    start(run, lambda r: execute(r, ctx, meter, message))
    return run


async def execute(run: TaskRun, ctx: CallContext, meter: Meter, message: Message) -> None:
    """Run the agent as the caller's session; settle the call and log it however it ends."""
    agent = ctx.agent
    enter(AgentSession(principal=ctx.principal, agent=agent, request_id=ctx.request_id, trace_id=ctx.trace_id,
                       depth=ctx.depth))
    status, error_type = "failure", ""
    try:
        if agent.kind == "remote":
            await remote.forward(run, ctx=ctx, message=message)
        else:
            await run.status("TASK_STATE_WORKING")
            await answer_into(run, agent, message)
            await run.status("TASK_STATE_COMPLETED")
        status = "success" if run.state in ("TASK_STATE_COMPLETED", *INTERRUPTED) else "failure"
    except asyncio.CancelledError:
        error_type = "canceled"
        raise
    except Exception as error:
        error_type = getattr(error, "code", None) or type(error).__name__
        raise
    finally:
        cost = to_nanos(Decimal(repr(agent.cost_per_query)), up=True) if status == "success" else 0
        meter.finish_soon(AgentBilled(id=agent.agent_id, public_id=agent.agent_id,
                                      target=Target(provider="a2a", model=agent.name)),
                          Usage(), price=None, status=status, error_type=str(error_type), cost_nanos=cost)
        logger.debug("agent=%s caller=%s task=%s status=%s error=%s duration_ms=%d cost=%s", agent.name,
                    ctx.principal.key.key_alias if ctx.principal.key else "master", run.task["id"], status,
                    error_type or "-",
                    int((time.time() - meter.started) * 1000), from_nanos(cost))


async def answer_into(run: TaskRun, agent: AgentRecord, message: Message) -> None:
    """A hosted or in-code agent's answer as the task's artifact: streamed piece by piece when a client follows
    the task (the model's tokens, a generator agent's pieces), else written whole."""
    writer = ArtifactWriter(run)
    emit = writer.write if run.streaming else None
    if agent.code is not None:
        answer = await answer_from(agent.code, text_of(message.get("parts") or []), emit)
    else:
        answer = await hosted.answer(agent, run.task.get("history") or [], emit)
    await writer.close(answer)


def user_message(text: str) -> Message:
    return {"messageId": new_id(), "role": "ROLE_USER", "parts": [{"text": text}]}


def result_text(run: TaskRun) -> str:
    """What the task answered: its artifacts' text, else its last status message; a failure raises."""
    if run.state in ("TASK_STATE_FAILED", "TASK_STATE_REJECTED", "TASK_STATE_CANCELED"):
        if run.failure is not None:
            raise run.failure
        message = run.task["status"].get("message") or {}
        raise InvalidAgentResponse(f"agent task {run.state}: {text_of(message.get('parts') or [])}".strip(": "))
    texts = [text_of(artifact.get("parts") or []) for artifact in run.task.get("artifacts") or []]
    if any(texts):
        return "\n".join(text for text in texts if text)
    return text_of((run.task["status"].get("message") or {}).get("parts") or [])


async def settled(run: TaskRun) -> None:
    """Wait for the task to end or ask for input; if the waiter is cancelled, so is the task it waits for."""
    try:
        await asyncio.shield(run.done.wait())
    except asyncio.CancelledError:
        await run.cancel()
        raise


async def answer_of(session: AgentSession, query: str) -> str:
    """The agent's answer to `query` as a task of its own, under the session's caller."""
    ctx = CallContext(principal=session.principal, agent=session.agent, request_id=session.request_id,
                      trace_id=session.trace_id, depth=session.depth)
    run = await begin(ctx, user_message(query), hidden=True)
    await settled(run)
    return result_text(run)
