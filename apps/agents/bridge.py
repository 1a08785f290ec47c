"""`model: "a2a/<agent>"` on /v1/chat/completions: the conversation's last user turn goes to the agent as a task,
followed to its end; the answer comes back as a chat completion (or a stream of chunks)."""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from apps.agents.errors import A2AError
from apps.agents.ids import new_id
from apps.agents.registry import AgentRecord, agent_table, may_call
from apps.agents.runs import TaskRun
from apps.agents.turns import CallContext, begin, result_text, settled, user_message
from apps.agents.wire import text_of
from apps.core.errors import GatewayError, InternalError, InvalidRequest, NotFound, Overloaded, RateLimited
from apps.providers.base import ChatCall, ChatChunk, ChatCompletion, Target, Usage
from apps.providers.transport import ChatStream, MockResponse
from apps.routing.parsing import CallOptions
from apps.routing.router import Served, model_not_found
from apps.routing.snapshot import DeploymentRecord
from apps.teams.auth import Principal
from apps.teams.metering import request_end_user, request_tags


def last_user_text(call: ChatCall) -> str:
    for message in reversed(call.messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict)).strip()
            return str(content or "")
    return ""


def gateway_error(error: A2AError) -> GatewayError:
    """An A2A failure as the /v1 error a chat client reads."""
    kinds: dict[int, type[GatewayError]] = {429: RateLimited, 503: Overloaded, 400: InvalidRequest, 404: NotFound}
    return kinds.get(error.http_status, InternalError)(error.message, headers=error.headers)


async def agent_for(principal: Principal, model: str) -> AgentRecord:
    agent = (await agent_table.get()).find(model.partition("/")[2])
    if agent is None or not may_call(principal, agent):
        raise model_not_found(model)
    return agent


async def started(principal: Principal, call: ChatCall, request_id: str, *,
                  streaming: bool = False) -> tuple[AgentRecord, TaskRun]:
    """The agent's task for the last user message, admitted and running."""
    agent = await agent_for(principal, call.model)
    ctx = CallContext(principal=principal, agent=agent, request_id=request_id or f"req-{new_id()}", trace_id=new_id(),
                      tags=request_tags(call.params), end_user=request_end_user(call.params))
    try:
        return agent, await begin(ctx, user_message(last_user_text(call)), streaming=streaming, hidden=True)
    except A2AError as error:
        raise gateway_error(error) from None


def answer_text(run: TaskRun) -> str:
    """What the ended task answered, or its failure as the /v1 error a chat client reads."""
    try:
        return result_text(run)
    except A2AError as error:
        raise gateway_error(error) from None
    except LookupError as error:  # a sub-agent it called is gone
        raise InternalError(str(error)) from None


async def answered(principal: Principal, call: ChatCall, request_id: str) -> tuple[AgentRecord, str]:
    """The agent's answer to the last user message, once its task ended."""
    agent, run = await started(principal, call, request_id)
    await settled(run)
    return agent, answer_text(run)


def served_by(agent: AgentRecord, model: str) -> DeploymentRecord:
    return DeploymentRecord(id=agent.agent_id, model_name=model, target=Target(provider="a2a", model=agent.name),
                            model_id=agent.agent_id)


def completion_body(model: str, text: str) -> dict[str, object]:
    return {"id": f"chatcmpl-{new_id()}", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


class TaskStream(ChatStream):
    """A running task as chat chunks: the role, each piece of its artifacts as it is published, the stop. A client
    that hangs up cancels the task (and with it the agent's model call)."""

    def __init__(self, model: str, run: TaskRun) -> None:
        self.model, self.run = model, run
        self.headers = {}
        self.call = None
        self.response = MockResponse(200, b"")
        self.base = {"id": f"chatcmpl-{new_id()}", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model}

    def chunk(self, delta: dict[str, object], finish: str | None = None, usage: Usage | None = None) -> ChatChunk:
        return ChatChunk({**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]},
                         usage=usage)

    async def batches(self) -> AsyncGenerator[list[ChatChunk], None]:
        yield [self.chunk({"role": "assistant", "content": ""})]
        streamed = False
        try:
            async for event in self.run.follow(0):
                text = text_of(event["artifactUpdate"]["artifact"].get("parts") or []) if "artifactUpdate" in event \
                    else ""
                if text:
                    streamed = True
                    yield [self.chunk({"content": text})]
        finally:
            if not self.run.ended:
                await self.run.cancel()
        answer = answer_text(self.run)  # a failed task raises here: the stream ends with its error
        tail = [] if streamed or not answer else [self.chunk({"content": answer})]
        yield [*tail, self.chunk({}, "stop", Usage())]


class AgentChatBridge:
    """The routing layer's ChatBridge for `a2a/`."""

    async def complete(self, principal: Principal, call: ChatCall, options: CallOptions, *,
                       request_id: str) -> Served[ChatCompletion]:
        agent, text = await answered(principal, call, request_id)
        return Served(ChatCompletion(completion_body(call.model, text), Usage()), served_by(agent, call.model),
                      model_group=call.model)

    async def stream(self, principal: Principal, call: ChatCall, options: CallOptions, *,
                     request_id: str) -> Served[ChatStream]:
        agent, run = await started(principal, call, request_id, streaming=True)
        return Served(TaskStream(call.model, run), served_by(agent, call.model), model_group=call.model)
