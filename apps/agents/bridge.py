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
from apps.agents.wire import Message, text_of
from apps.core.errors import GatewayError, InternalError, InvalidRequest, NotFound, Overloaded, RateLimited
from apps.providers.base import ChatCall, ChatChunk, ChatCompletion, Target, Usage
from apps.providers.transport import ChatStream, MockResponse
from apps.routing.parsing import CallOptions
from apps.routing.router import Served, model_not_found
from apps.routing.snapshot import DeploymentRecord
from apps.teams.auth import Principal
from apps.teams.metering import request_end_user, request_tags


def content_text(content: object) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict)).strip()
    return str(content or "")


def conversation(call: ChatCall) -> list[tuple[str, str]]:
    """The chat's turns as (role, text): user, assistant and system ones with text (tool traffic left out)."""
    turns = [(str(m.get("role")), content_text(m.get("content"))) for m in call.messages]
    return [(role, text) for role, text in turns if role in ("user", "assistant", "system", "developer") and text]


def agent_turn(text: str) -> Message:
    return {**user_message(text), "role": "ROLE_AGENT"}


def agent_messages(agent: AgentRecord, call: ChatCall) -> tuple[list[Message], Message]:
    """The whole conversation for the agent: a hosted agent gets the earlier turns as the task's history (its model
    reads them as chat turns) and the last one as the message; an in-code or remote agent, which reads one
    message, gets the conversation as one transcript (just the text when there is only the one user turn)."""
    turns = conversation(call)
    if not turns:
        return [], user_message("")
    if agent.kind == "hosted":
        prior: list[Message] = [agent_turn(text) if role == "assistant" else
                                user_message(text if role == "user" else f"{role}: {text}")
                                for role, text in turns[:-1]]
        return prior, user_message(turns[-1][1])
    if len(turns) == 1:
        return [], user_message(turns[0][1])
    return [], user_message("\n".join(f"{role}: {text}" for role, text in turns))


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
    """The agent's task for the conversation, admitted and running."""
    agent = await agent_for(principal, call.model)
    ctx = CallContext(principal=principal, agent=agent, request_id=request_id or f"req-{new_id()}", trace_id=new_id(),
                      tags=request_tags(call.params), end_user=request_end_user(call.params))
    prior, message = agent_messages(agent, call)
    try:
        return agent, await begin(ctx, message, prior=prior, streaming=streaming, hidden=True)
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
    """The agent's answer to the conversation, once its task ended."""
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
