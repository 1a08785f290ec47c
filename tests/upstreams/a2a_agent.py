"""Remote A2A agents behind the gateway.

`SdkAgent`: built with a2a-sdk's own server side (DefaultRequestHandler, JSON-RPC routes in 1.0 and 0.3), run by
uvicorn on a free port; it answers "remote says: <query>", or (query "wait") works until it is canceled. It
records the headers of every request it gets.

`PollingAgent`: a hand-written 0.3 JSON-RPC agent without streaming that answers message/send with a `working`
task and tasks/get with `working` until the `polls`-th call, then `completed`: the case where a bridge that takes
the first answer as final returns nothing.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

import uvicorn
from a2a.server.agent_execution.agent_executor import AgentExecutor
from a2a.server.agent_execution.context import RequestContext
from a2a.server.events.event_queue import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks.inmemory_task_store import InMemoryTaskStore
from a2a.server.tasks.task_updater import TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, Task, TaskState, TaskStatus
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from tests.conftest import free_port
from tests.upstreams.recording import Recorded, RecordingServer, Reply


class EchoExecutor(AgentExecutor):
    """Answers "remote says: <query>"; the query "wait" works until canceled (`canceled` is set then)."""

    def __init__(self) -> None:
        self.canceled = threading.Event()
        self.working = threading.Event()
        self.first_piece_sent = threading.Event()
        self.release = threading.Event()  # "slow": the rest of the answer waits for this
        self.finished = threading.Event()  # "slow": set once it completed

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id or "", context.context_id or ""
        await event_queue.enqueue_event(Task(id=task_id, context_id=context_id,
                                             status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                                             history=[context.message] if context.message else []))
        updater = TaskUpdater(event_queue=event_queue, task_id=task_id, context_id=context_id)
        await updater.start_work()
        query = context.get_user_input()
        if query == "wait":
            self.working.set()
            await asyncio.Event().wait()  # until the request handler cancels this execution
        if query == "slow":  # one piece, then the rest only once the test has seen that piece arrive
            await updater.add_artifact(parts=[Part(text="first piece")], name="answer", artifact_id="slow-1",
                                       last_chunk=False)
            self.first_piece_sent.set()
            await asyncio.to_thread(self.release.wait, 30)
            await updater.add_artifact(parts=[Part(text=", then the rest")], name="answer", artifact_id="slow-1",
                                       append=True, last_chunk=True)
            await updater.complete()
            self.finished.set()
            return
        await updater.add_artifact(parts=[Part(text=f"remote says: {query}")], name="answer", last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.canceled.set()
        updater = TaskUpdater(event_queue=event_queue, task_id=context.task_id or "",
                              context_id=context.context_id or "")
        await updater.cancel()


class SdkAgent:
    """The a2a-sdk agent on uvicorn in a thread: `url` is its JSON-RPC endpoint, `base` its origin."""

    def __init__(self, *, streaming: bool = True, rest_only: bool = False, old_card_path: bool = False) -> None:
        """`rest_only`: a 1.0 agent offering only HTTP+JSON (at `/rest`); `old_card_path`: its card only at the older
        /.well-known/agent.json."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/rest" if rest_only else f"{self.base}/rpc"
        self.executor = EchoExecutor()
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        card = AgentCard(
            name="Remote Echo", description="Echoes what it is asked", version="2.0.0",
            capabilities=AgentCapabilities(streaming=streaming, push_notifications=False),
            default_input_modes=["text"], default_output_modes=["text"],
            skills=[AgentSkill(id="echo", name="Echo", description="echoes", tags=["echo"])],
            supported_interfaces=[AgentInterface(protocol_binding="HTTP+JSON", protocol_version="1.0", url=self.url)]
            if rest_only else [AgentInterface(protocol_binding="JSONRPC", protocol_version="1.0", url=self.url),
                               AgentInterface(protocol_binding="JSONRPC", protocol_version="0.3", url=self.url)])
        handler = DefaultRequestHandler(agent_executor=self.executor, task_store=InMemoryTaskStore(), agent_card=card)
        card_routes = create_agent_card_routes(agent_card=card, **(
            {"card_url": "/.well-known/agent.json"} if old_card_path else {}))
        routes = [*card_routes, *(create_rest_routes(request_handler=handler, path_prefix="/rest") if rest_only else
                                  create_jsonrpc_routes(request_handler=handler, rpc_url="/rpc",
                                                        enable_v0_3_compat=True))]
        app = Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=self.record)])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def record(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        self.paths.append(request.url.path)
        return await call_next(request)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the a2a-sdk agent did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class PollingAgent(RecordingServer):
    """A 0.3 agent that is still `working` when message/send returns; tasks/get completes it on poll `polls`."""

    def __init__(self, *, polls: int = 2) -> None:
        super().__init__(self.respond_to)
        self.polls = polls
        self.gets = 0

    def card(self) -> dict[str, Any]:
        return {"protocolVersion": "0.3.0", "name": "Slow poller", "description": "finishes later",
                "url": f"{self.url}/", "preferredTransport": "JSONRPC", "version": "0.1.0",
                "capabilities": {"streaming": False}, "defaultInputModes": ["text"], "defaultOutputModes": ["text"],
                "skills": [{"id": "later", "name": "Later", "description": "answers later", "tags": []}]}

    def task(self, state: str) -> dict[str, Any]:
        artifacts = [{"artifactId": "a-1", "parts": [{"kind": "text", "text": "done at last"}]}] \
            if state == "completed" else []
        return {"kind": "task", "id": "remote-task-1", "contextId": "remote-ctx-1", "status": {"state": state},
                "artifacts": artifacts}

    def respond_to(self, request: Recorded) -> Reply:
        if request.method == "GET":
            return Reply.json(200, self.card())
        body = request.json()
        if body["method"] == "message/send":
            assert body["params"]["message"]["kind"] == "message", body
            return Reply.json(200, {"jsonrpc": "2.0", "id": body["id"], "result": self.task("working")})
        assert body["method"] == "tasks/get" and body["params"]["id"] == "remote-task-1", body
        self.gets += 1
        state = "completed" if self.gets >= self.polls else "working"
        return Reply.json(200, {"jsonrpc": "2.0", "id": body["id"], "result": self.task(state)})
