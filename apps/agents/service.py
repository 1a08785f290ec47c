"""A2A's operations over 1.0-shaped params and results, whichever binding or version carried them: send,
stream, get, list, cancel, subscribe, push configs, the extended card."""
from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from apps.agents import orphans, store
from apps.agents.cards import agent_card
from apps.agents.errors import (ContentTypeNotSupported, InvalidParams, PushNotSupported, TaskNotCancelable,
                                UnsupportedOperation)
from apps.agents.ids import new_id
from apps.agents.push_targets import refused_host
from apps.agents.registry import AgentRecord
from apps.agents.runs import running
from apps.agents.turns import CallContext, begin, owner_filter
from apps.agents.wire import INTERRUPTED, TERMINAL, Json, Message, Task

PART_KINDS = ("text", "raw", "url", "data")
TEXT_MODES = frozenset({"text", "text/plain", "text/*", "*/*", "*"})  # what a hosted or in-code agent answers in
POLL_SECONDS = 0.25  # a subscription to a task running on another replica reads the store this often
MAX_PAGE = 100


def require_object(params: Any, name: str = "params") -> Json:
    if not isinstance(params, dict):
        raise InvalidParams(f"'{name}' must be an object.", data={"field": name})
    return params


def require_string(params: Json, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"'{name}' is required and must be a non-empty string.", data={"field": name})
    return value


def optional_int(params: Json, name: str, *, low: int = 0, high: int | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        raise InvalidParams(f"'{name}' must be an integer from {low}" + (f" to {high}." if high else "."),
                            data={"field": name})
    return value


def check_message(params: Json) -> Message:
    """SendMessageRequest.message: a user message with an id and at least one well-formed part."""
    message = require_object(params.get("message"), "message")
    require_string(message, "messageId")
    if message.get("role") not in ("ROLE_USER", "ROLE_AGENT"):
        raise InvalidParams("'message.role' must be ROLE_USER or ROLE_AGENT ('user' or 'agent' in 0.3).",
                            data={"field": "message.role"})
    parts = message.get("parts")
    if not isinstance(parts, list) or not parts:
        raise InvalidParams("'message.parts' must hold at least one part.", data={"field": "message.parts"})
    for index, part in enumerate(parts):
        if not isinstance(part, dict) or sum(kind in part for kind in PART_KINDS) != 1:
            raise InvalidParams(f"'message.parts[{index}]' must hold exactly one of text, raw, url or data.",
                                data={"field": f"message.parts[{index}]"})
    for name in ("taskId", "contextId"):
        if name in message and not isinstance(message[name], str):
            raise InvalidParams(f"'message.{name}' must be a string.", data={"field": f"message.{name}"})
    return message  # type: ignore[return-value]


def check_content(agent: AgentRecord, message: Message, configuration: Json) -> None:
    """A hosted or in-code agent reads text (data parts as JSON text) and answers text: a file part, or a client that
    accepts no text answer, is ContentTypeNotSupported, never silently dropped. A remote agent judges for itself."""
    if agent.kind == "remote":
        return
    for index, part in enumerate(message.get("parts") or []):
        if "raw" in part or "url" in part:
            kind = str(part.get("mediaType") or "a file")
            raise ContentTypeNotSupported(f"Agent {agent.name} reads text and data parts; part {index} is {kind}.",
                                          data={"field": f"message.parts[{index}]"})
    accepted = configuration.get("acceptedOutputModes")
    if isinstance(accepted, list) and accepted and not TEXT_MODES & {str(mode).lower() for mode in accepted}:
        raise ContentTypeNotSupported(f"Agent {agent.name} answers in text only, which acceptedOutputModes leaves out.",
                                      data={"field": "configuration.acceptedOutputModes"})


def require_push(agent: AgentRecord) -> None:
    if not agent.push_notifications:
        raise PushNotSupported(f"Agent {agent.name} does not support push notifications.",
                               data={"agentId": agent.agent_id})


def with_history(task: Task, length: int | None) -> Task:
    """The task with at most `length` of its latest messages (unset: all; 0: none)."""
    view = copy.deepcopy(task)
    if length is not None:
        view["history"] = view.get("history", [])[-length:] if length else []
    return view


def ended_view(task: Task, length: int | None) -> Task:
    """`with_history` for a task that has ended and is about to be answered: its parts are no longer changed,
    so only the history list is new."""
    history = task.get("history") or []
    return {**task, "history": history[-length:] if length else []} if length is not None else task


async def send(ctx: CallContext, params: Any) -> Json:
    """SendMessage: the task once it ends or asks for input (returnImmediately: as soon as it is stored)."""
    params = require_object(params)
    message = check_message(params)
    configuration = require_object(params.get("configuration") or {}, "configuration")
    check_content(ctx.agent, message, configuration)
    push = configuration.get("taskPushNotificationConfig")
    keeper = None
    if push:
        require_push(ctx.agent)
        given = require_object(push, "taskPushNotificationConfig")
        keeper = push_keeper(checked_push(given), version=str(given.get("version") or "1.0"))
    run = await begin(ctx, message, prepare=keeper, hidden=not configuration.get("returnImmediately"))
    if not configuration.get("returnImmediately"):
        await asyncio.shield(run.done.wait())  # a hang-up leaves the task running, as A2A wants
        return {"task": ended_view(run.task, optional_int(configuration, "historyLength"))}
    return {"task": with_history(run.task, optional_int(configuration, "historyLength"))}


def push_keeper(config: Json, *, version: str) -> Callable[[str], Awaitable[None]]:
    """Stores the push config sent with a message once its task exists, before the task starts (so even a task
    that ends at once is pushed)."""
    async def keep(task_id: str) -> None:
        await store.push_set(task_id, {**config, "taskId": task_id, "id": config.get("id") or new_id(),
                                       "version": version})
    return keep


async def stream(ctx: CallContext, params: Any) -> AsyncIterator[Json]:
    """SendStreamingMessage: the task, then every update until it ends (errors before the first event raise)."""
    params = require_object(params)
    message = check_message(params)
    configuration = require_object(params.get("configuration") or {}, "configuration")
    check_content(ctx.agent, message, configuration)
    if configuration.get("taskPushNotificationConfig"):
        require_push(ctx.agent)  # a stream with a push config is sent on as a plain stream otherwise
    run = await begin(ctx, message, streaming=True)
    return run.follow(0)


async def get(ctx: CallContext, params: Any) -> Task:
    params = require_object(params)
    task_id, history = require_string(params, "id"), optional_int(params, "historyLength")
    stored = await store.task_load(task_id, agent_id=ctx.agent.agent_id, owner=owner_filter(ctx.principal))
    return with_history((await orphans.checked(stored)).task, history)


async def list_tasks(ctx: CallContext, params: Any) -> Json:
    """ListTasks: the caller's tasks with this agent, newest first, `pageToken` being the offset."""
    params = require_object(params or {})
    size = optional_int(params, "pageSize", low=1, high=MAX_PAGE) or 50
    token = params.get("pageToken") or "0"
    if not isinstance(token, str) or not token.isdigit():
        raise InvalidParams("'pageToken' is not one this server gave.", data={"field": "pageToken"})
    status = params.get("status") or ""
    if status and status not in TERMINAL | INTERRUPTED | {"TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"}:
        raise InvalidParams("'status' must be a TaskState.", data={"field": "status"})
    tasks, total = await store.task_list(agent_id=ctx.agent.agent_id, owner=owner_filter(ctx.principal),
                                         context_id=str(params.get("contextId") or ""), status=str(status),
                                         offset=int(token), size=size)
    history = optional_int(params, "historyLength")
    views = [with_history(task, history) for task in tasks]
    if params.get("includeArtifacts") is not True:  # false is the default: artifacts omitted (spec 3.1.4)
        for view in views:
            view.pop("artifacts", None)
    following = int(token) + size
    return {"tasks": views, "nextPageToken": str(following) if following < total else "", "pageSize": size,
            "totalSize": total}


async def cancel(ctx: CallContext, params: Any) -> Task:
    """CancelTask: stop the work wherever it runs; a task already ended cannot be canceled."""
    params = require_object(params)
    task_id = require_string(params, "id")
    stored = await orphans.checked(await store.task_load(task_id, agent_id=ctx.agent.agent_id,
                                                         owner=owner_filter(ctx.principal)))
    if stored.state in TERMINAL:
        raise TaskNotCancelable(f"Task {task_id} is {stored.state} and cannot be canceled.", data={"taskId": task_id})
    run = running(task_id)
    if run is not None:
        await run.cancel()
        return copy.deepcopy(run.task)
    await store.cancel_request(task_id)
    return await wait_for_state(ctx, task_id, TERMINAL)


async def wait_for_state(ctx: CallContext, task_id: str, states: frozenset[str], *, timeout: float = 15.0) -> Task:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        stored = await orphans.checked(await store.task_load(task_id, agent_id=ctx.agent.agent_id, owner=None))
        if stored.state in states or loop.time() > deadline:
            return stored.task
        await asyncio.sleep(POLL_SECONDS)


async def subscribe(ctx: CallContext, params: Any) -> AsyncIterator[Json]:
    """SubscribeToTask: the task as it is, then its updates; a task that has ended is refused."""
    params = require_object(params)
    task_id = require_string(params, "id")
    stored = await orphans.checked(await store.task_load(task_id, agent_id=ctx.agent.agent_id,
                                                         owner=owner_filter(ctx.principal)))
    if stored.state in TERMINAL:
        raise UnsupportedOperation(f"Task {task_id} is {stored.state}; there is nothing to subscribe to.",
                                   data={"taskId": task_id})
    run = running(task_id)
    if run is not None:
        return resumed(run.task, run.follow(len(run.events)))
    return polled(ctx, stored)


async def resumed(task: Task, events: AsyncIterator[Json]) -> AsyncIterator[Json]:
    yield {"task": copy.deepcopy(task)}
    async for event in events:
        yield event


async def polled(ctx: CallContext, stored: store.StoredTask) -> AsyncIterator[Json]:
    """Updates of a task running on another replica, read from the store until it ends (failed, should that
    replica die)."""
    task = stored.task
    yield {"task": task}
    seen = {a.get("artifactId") for a in task.get("artifacts") or []}
    last = task["status"]
    while last["state"] not in TERMINAL | INTERRUPTED:
        await asyncio.sleep(POLL_SECONDS)
        current = (await orphans.checked(await store.task_load(task["id"], agent_id=ctx.agent.agent_id,
                                                               owner=None))).task
        for artifact in current.get("artifacts") or []:
            if artifact.get("artifactId") not in seen:
                seen.add(artifact.get("artifactId"))
                yield {"artifactUpdate": {"taskId": task["id"], "contextId": task.get("contextId", ""),
                                          "artifact": artifact}}
        if current["status"] != last:
            last = current["status"]
            yield {"statusUpdate": {"taskId": task["id"], "contextId": task.get("contextId", ""), "status": last}}


def checked_push(config: Json) -> Json:
    url = config.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidParams("'url' must be an http(s) URL.", data={"field": "url"})
    reason = refused_host(url)
    if reason is not None:
        raise InvalidParams(f"'url' may not be pushed to: {reason}.", data={"field": "url"})
    auth = config.get("authentication")
    if auth is not None:
        require_object(auth, "authentication")
    return {k: v for k, v in config.items() if k in ("id", "taskId", "url", "token", "authentication")}


async def push_create(ctx: CallContext, params: Any, *, version: str = "1.0") -> Json:
    """CreateTaskPushNotificationConfig for one of the caller's tasks."""
    require_push(ctx.agent)
    config = checked_push(require_object(params))
    task_id = require_string(config, "taskId")
    await store.task_load(task_id, agent_id=ctx.agent.agent_id, owner=owner_filter(ctx.principal))
    config["id"] = config.get("id") or new_id()
    await store.push_set(task_id, {**config, "version": version})
    return config


async def push_configs(ctx: CallContext, task_id: str) -> list[Json]:
    require_push(ctx.agent)
    await store.task_load(task_id, agent_id=ctx.agent.agent_id, owner=owner_filter(ctx.principal))
    return [{k: v for k, v in config.items() if k != "version"} for config in await store.push_list(task_id)]


async def push_get(ctx: CallContext, task_id: str, config_id: str | None) -> Json:
    configs = await push_configs(ctx, task_id)
    found = next((c for c in configs if config_id is None or c.get("id") == config_id), None)
    if found is None:
        raise InvalidParams(f"Task {task_id} has no push notification config {config_id}.", data={"field": "id"})
    return found


async def push_delete(ctx: CallContext, task_id: str, config_id: str) -> None:
    """Delete a push config; deleting one already gone is no error (spec 3.1.10: idempotent)."""
    await push_configs(ctx, task_id)
    await store.push_delete(task_id, config_id)


def extended_card(ctx: CallContext, *, base_url: str, version: str) -> Json:
    """GetExtendedAgentCard; an agent whose card declares none answers UnsupportedOperation (spec 3.3.4)."""
    if not ctx.agent.extended_card:
        raise UnsupportedOperation(f"Agent {ctx.agent.name} has no extended agent card.",
                                   data={"agentId": ctx.agent.agent_id})
    return agent_card(ctx.agent, base_url=base_url, version="1.0" if version == "1.0" else "0.3")
