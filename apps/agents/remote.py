"""Remote agents: the registered card picks the endpoint and version, the task is forwarded there (streamed when
the agent streams, else sent and polled) and followed to a terminal state, its ids mapped to ours; a cancel
here cancels it there. Forwarded calls carry the trace id and the agent id."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from apps.agents.cards import card_urls, points_at_gateway
from apps.agents.errors import ERRORS, A2AError, InvalidAgentResponse, Unavailable
from apps.agents.ids import new_id
from apps.agents.registry import AgentRecord
from apps.agents.runs import TaskRun
from apps.agents.wire import (INTERRUPTED, TERMINAL, Json, Message, Version, event_up, message_down, parse_version,
                              task_up)
from apps.providers.http_client import HttpFailure, send_json, stream_sse

POLL_SECONDS = 0.3
CALL_TIMEOUT = 120.0
METHODS: dict[Version, dict[str, str]] = {
    "0.3": {"send": "message/send", "stream": "message/stream", "get": "tasks/get", "cancel": "tasks/cancel"},
    "1.0": {"send": "SendMessage", "stream": "SendStreamingMessage", "get": "GetTask", "cancel": "CancelTask"},
}
# HTTP+JSON (1.0 only): operation -> (HTTP method, path under the interface URL)
REST = {"send": ("POST", "/message:send"), "get": ("GET", "/tasks/{id}"), "cancel": ("POST", "/tasks/{id}:cancel")}
CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")
_fetched: dict[str, Json] = {}  # cards fetched by this process, until the registry row carries them


def elsewhere(agent: AgentRecord, url: str) -> bool:
    """A URL that is not the gateway's own endpoint for this agent (which would make it forward to itself)."""
    return not points_at_gateway(url, agent_id=agent.agent_id)


def registered_card(agent: AgentRecord) -> Json | None:
    """The card the agent was registered with (or fetched once before), if it says where the agent is; a card
    that names only the gateway's own endpoint (the served card, PUT back) says nothing of where the agent is."""
    for card in (agent.card_params, agent.remote_card, _fetched.get(agent.agent_id)):
        if card and any(elsewhere(agent, url) for url in card_urls(card)):
            return card
    return None


async def card_for(agent: AgentRecord) -> Json:
    """The registered card; without one, the agent's own card, fetched once from api_base and kept."""
    card = registered_card(agent)
    if card is not None:
        return card
    base = str(agent.params.get("api_base") or "").rstrip("/")
    if not base:
        raise Unavailable(f"remote agent {agent.name} has neither a card url nor litellm_params.api_base")
    problem = ""
    for path in CARD_PATHS:  # the card's path since 0.3, then the older one
        try:
            answer = await send_json("GET", f"{base}{path}", headers=auth_headers(agent))
        except HttpFailure as failure:  # unreachable, or an answer that is not JSON (a 404 page)
            problem = f"could not fetch the card of agent {agent.name}: {failure}"
            continue
        if answer.status == 200 and isinstance(answer.body, dict):
            break
        problem = f"the card of agent {agent.name} answered {answer.status}"
    else:
        raise Unavailable(problem)
    _fetched[agent.agent_id] = answer.body
    from apps.agents.management import remote_card_store

    await remote_card_store(agent.agent_id, answer.body)
    return answer.body


def endpoint(agent: AgentRecord, card: Json) -> tuple[str, Version, str]:
    """The URL, version and binding to call: JSON-RPC 1.0, else HTTP+JSON 1.0 (an agent may offer only that), else
    JSON-RPC 0.3, as the card offers them (or the version the registry forces)."""
    forced = parse_version(agent.protocol_version) if agent.protocol_version else None
    wanted: tuple[Version, ...] = (forced,) if forced else ("1.0", "0.3")
    interfaces = [i for i in card.get("supportedInterfaces") or []
                  if isinstance(i.get("url"), str) and elsewhere(agent, i["url"])]
    for version in wanted:
        for binding in ("JSONRPC", "HTTP+JSON") if version == "1.0" else ("JSONRPC",):
            for interface in interfaces:
                if interface.get("protocolBinding") == binding and \
                        parse_version(str(interface.get("protocolVersion") or "0.3")) == version:
                    return str(interface["url"]), version, binding
    url = card.get("url") if isinstance(card.get("url"), str) and elsewhere(agent, card["url"]) else None
    url = url or agent.params.get("api_base")
    if not url:
        raise Unavailable(f"the card of agent {agent.name} names no JSON-RPC endpoint")
    return str(url), forced or parse_version(str(card.get("protocolVersion") or "")) or "0.3", "JSONRPC"


def auth_headers(agent: AgentRecord) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (agent.params.get("extra_headers") or {}).items()}
    if agent.params.get("api_key"):
        headers["authorization"] = f"Bearer {agent.params['api_key']}"
    return headers


def rpc(method: str, params: Json) -> Json:
    return {"jsonrpc": "2.0", "id": new_id(), "method": method, "params": params}


class Link:
    """One forwarded task: where it goes, in which version, and its id there."""

    def __init__(self, *, run: TaskRun, agent: AgentRecord, url: str, version: Version,
                 headers: dict[str, str], binding: str = "JSONRPC") -> None:
        self.run, self.agent, self.url, self.version, self.headers = run, agent, url, version, headers
        self.rest = binding == "HTTP+JSON"
        remote_id, _, remote_context = (run.remote_task_id or "").partition("|")
        self.remote_id, self.remote_context = remote_id, remote_context

    def outgoing(self, message: Message, *, at_once: bool = False) -> Json:
        """The send's params; `at_once`: asking the agent to answer as soon as the task exists (0.3: blocking
        false), so its id is known, and a cancel can reach it, while we poll it to its end."""
        sent: Json = {k: v for k, v in message.items() if k not in ("taskId", "contextId")}
        if self.remote_id:
            sent.update(taskId=self.remote_id, contextId=self.remote_context)
        params: Json = {"message": message_down(sent) if self.version == "0.3" else sent}
        if at_once:
            params["configuration"] = {"blocking": False} if self.version == "0.3" else {"returnImmediately": True}
        return params

    def remember(self, task_id: str, context_id: str) -> None:
        if task_id and not self.remote_id:
            self.remote_id, self.remote_context = task_id, context_id
            self.run.remote_task_id = f"{task_id}|{context_id}"

    async def call(self, method: str, params: Json) -> Any:
        """One operation: a JSON-RPC request, or over HTTP+JSON its route."""
        if self.rest:
            verb, path = REST[method]
            url = f"{self.url.rstrip('/')}{path.format(id=params.get('id', ''))}"
            body = params if method == "send" else ({} if verb == "POST" else None)
        else:
            verb, url, body = "POST", self.url, rpc(METHODS[self.version][method], params)
        try:
            answer = await send_json(verb, url, headers=self.headers, body=body, timeout=CALL_TIMEOUT)
        except HttpFailure as failure:
            raise Unavailable(f"agent {self.agent.name}: {failure}") from None
        if self.rest:
            return rest_result(self.agent, answer.body, status=answer.status)
        return result_of(self.agent, answer.body, status=answer.status)

    def ours(self, value: Json) -> Json:
        """An object from the remote with its task and context ids replaced by ours."""
        mapped = dict(value)
        if "taskId" in mapped:
            mapped["taskId"] = self.run.task["id"]
        if "contextId" in mapped:
            mapped["contextId"] = self.run.task.get("contextId", "")
        if isinstance(mapped.get("message"), dict):
            mapped["message"] = self.ours(mapped["message"])
        if isinstance(mapped.get("status"), dict):
            mapped["status"] = self.ours(mapped["status"])
        return mapped

    async def relay(self, event: Json) -> None:
        """One remote StreamResponse, published as ours."""
        if "task" in event:
            await self.relay_task(event["task"])
        elif "message" in event:
            self.remember(event["message"].get("taskId", ""), event["message"].get("contextId", ""))
            await self.run.publish({"artifactUpdate": {"taskId": self.run.task["id"],
                                                       "contextId": self.run.task.get("contextId", ""),
                                                       "artifact": {"artifactId": new_id(), "name": "response",
                                                                    "parts": event["message"].get("parts") or []}}})
            await self.run.status("TASK_STATE_COMPLETED")
        elif "statusUpdate" in event:
            self.remember(event["statusUpdate"].get("taskId", ""), event["statusUpdate"].get("contextId", ""))
            await self.run.publish({"statusUpdate": self.ours(event["statusUpdate"])})
        elif "artifactUpdate" in event:
            await self.run.publish({"artifactUpdate": self.ours(event["artifactUpdate"])})

    async def relay_task(self, task: Json) -> None:
        """A remote task snapshot: its artifacts we have not seen, then its status if it moved."""
        self.remember(task.get("id", ""), task.get("contextId", ""))
        seen = {a.get("artifactId") for a in self.run.task.get("artifacts") or []}
        for artifact in task.get("artifacts") or []:
            if artifact.get("artifactId") not in seen:
                await self.run.publish({"artifactUpdate": {"taskId": self.run.task["id"],
                                                           "contextId": self.run.task.get("contextId", ""),
                                                           "artifact": artifact}})
        status = task.get("status") or {}
        if status.get("state") != self.run.state or status.get("message"):
            await self.run.publish({"statusUpdate": {"taskId": self.run.task["id"],
                                                     "contextId": self.run.task.get("contextId", ""),
                                                     "status": self.ours(status)}})


def result_of(agent: AgentRecord, body: Any, *, status: int) -> Any:
    """A JSON-RPC answer's result, or the A2A error it carries."""
    if not isinstance(body, dict) or ("result" not in body and "error" not in body):
        raise InvalidAgentResponse(f"agent {agent.name} answered {status} with no JSON-RPC result")
    if "error" in body:
        error = body["error"] if isinstance(body["error"], dict) else {}
        raise A2AError(f"agent {agent.name}: {error.get('message', 'error')}", code=int(error.get("code", -32603)))
    return body["result"]


def rest_result(agent: AgentRecord, body: Any, *, status: int) -> Any:
    """An HTTP+JSON answer's body, or the A2A error its google.rpc.Status carries (by its ErrorInfo reason)."""
    if 200 <= status < 300 and isinstance(body, dict) and "error" not in body:
        return body
    error: Json = body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    reasons = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)]
    code = next((code for code, (reason, _, _) in ERRORS.items() if reason in reasons), -32603)
    raise A2AError(f"agent {agent.name}: {error.get('message') or f'answered {status}'}", code=code)


def upgraded(link: Link, result: Any) -> Json:
    if not isinstance(result, dict):
        raise InvalidAgentResponse(f"agent {link.agent.name} sent a result that is not an object")
    return event_up(result) if link.version == "0.3" else result


async def stream_to_end(link: Link, message: Message) -> None:
    url, body = (f"{link.url.rstrip('/')}/message:stream", link.outgoing(message)) if link.rest else \
        (link.url, rpc(METHODS[link.version]["stream"], link.outgoing(message)))
    try:
        async for frame in stream_sse(url, headers=link.headers, body=body):
            result = rest_result(link.agent, frame, status=200) if link.rest else \
                result_of(link.agent, frame, status=200)
            await link.relay(upgraded(link, result))
            if link.run.ended:
                return
    except HttpFailure as failure:
        raise Unavailable(f"agent {link.agent.name}: {failure}") from None


async def poll_to_end(link: Link) -> None:
    """Ask for the task until it is terminal or waits for input (a `submitted` or `working` answer is not one)."""
    while not link.run.ended:
        if not link.remote_id:
            raise InvalidAgentResponse(f"agent {link.agent.name} left the task unfinished without a task id")
        await asyncio.sleep(POLL_SECONDS)
        task = await link.call("get", {"id": link.remote_id})
        if not isinstance(task, dict):
            raise InvalidAgentResponse(f"agent {link.agent.name} answered tasks/get with no task")
        await link.relay_task(task if link.version == "1.0" else dict(task_up(task)))


async def forward(run: TaskRun, *, ctx: Any, message: Message) -> None:
    """Send the message to the remote agent and follow its task to the end (cancelled: cancel it there too)."""
    agent: AgentRecord = ctx.agent
    card = await card_for(agent)
    url, version, binding = endpoint(agent, card)
    headers = {**auth_headers(agent), "a2a-version": version, "x-litellm-trace-id": ctx.trace_id,
               "x-litellm-agent-id": agent.agent_id, **({"a2a-extensions": ctx.extensions} if ctx.extensions else {})}
    link = Link(run=run, agent=agent, url=url, version=version, headers=headers, binding=binding)
    try:
        if (card.get("capabilities") or {}).get("streaming"):
            await stream_to_end(link, message)
        else:
            await link.relay(upgraded(link, await link.call("send", link.outgoing(message, at_once=True))))
        await poll_to_end(link)
    except asyncio.CancelledError:
        if link.remote_id and run.state not in TERMINAL | INTERRUPTED:
            with contextlib.suppress(A2AError, HttpFailure, TimeoutError):
                await asyncio.wait_for(link.call("cancel", {"id": link.remote_id}), timeout=5)
        raise
