"""A task while it runs in this process: its events in order (for the stream that started it and any
resubscription), each change stored for the other replicas, push notifications at the end, cancel."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from apps.agents import store
from apps.agents.code import AgentNotFound
from apps.agents.errors import A2AError
from apps.agents.ids import new_id
from apps.agents.push import deliver_soon
from apps.agents.wire import INTERRUPTED, TERMINAL, Json, Message, Task
from apps.core.errors import GatewayError
from apps.core.state import state
from apps.providers.http_client import HttpFailure

logger = logging.getLogger("tollgate.agents")
CANCEL_POLL = 0.2  # seconds between checks of the shared cancel flag for a task running here
_runs: dict[str, TaskRun] = {}


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def agent_message(text: str, run: TaskRun) -> Message:
    return {"messageId": new_id(), "role": "ROLE_AGENT", "parts": [{"text": text}], "taskId": run.task["id"],
            "contextId": run.task.get("contextId", "")}


@dataclass(eq=False)
class TaskRun:
    """One running task: the 1.0 task as it is now and every event published for it."""

    task: Task
    agent_id: str
    owner: str
    events: list[Json] = field(default_factory=list)
    remote_task_id: str | None = None
    failure: BaseException | None = None  # what made it fail, for callers that want the original error
    stored: bool = False  # a row exists: later saves are one UPDATE
    streaming: bool = False  # a client follows its events: answers are published piece by piece
    # Nobody outside this process knows its id until it ends (a blocking send, a sub-agent's task): it is stored
    # once, when it ends, instead of at every change nobody could read.
    hidden: bool = False
    worker: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def state(self) -> str:
        return self.task["status"]["state"]

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL or self.state in INTERRUPTED

    async def publish(self, event: Json, *, persist: bool = True) -> None:
        """Apply a StreamResponse event to the task, keep it for followers, store the task (`persist=False`: an
        update that a status change stores right after, as an answer's artifact before `completed`)."""
        apply(self.task, event)
        self.events.append(event)
        ended = self.ended
        deliveries: list[int] = []
        if ended or (persist and not self.hidden):
            # Push configs need a stored task: one never stored before has none to look up.
            deliveries = await store.task_save(self.task, agent_id=self.agent_id, owner=self.owner,
                                               remote_task_id=self.remote_task_id, exists=self.stored,
                                               push=ended and self.stored)
            self.stored = True
        if ended:
            self.done.set()
        self.wake()
        if deliveries:
            deliver_soon(deliveries)

    def wake(self) -> None:
        """Let followers read what was published (and see that the task ended)."""
        self._wake.set()
        self._wake = asyncio.Event()

    async def status(self, task_state: str, text: str | None = None) -> None:
        status: Json = {"state": task_state, "timestamp": now_iso()}
        if text is not None:
            status["message"] = agent_message(text, self)
        await self.publish({"statusUpdate": {"taskId": self.task["id"], "contextId": self.task.get("contextId", ""),
                                             "status": status}})

    async def artifact(self, text: str, *, name: str = "response", persist: bool = True) -> None:
        artifact = {"artifactId": new_id(), "name": name, "parts": [{"text": text}]}
        await self.publish({"artifactUpdate": {"taskId": self.task["id"], "contextId": self.task.get("contextId", ""),
                                               "artifact": artifact, "lastChunk": True}}, persist=persist)

    async def piece(self, artifact_id: str, text: str, *, first: bool, last: bool) -> None:
        """One piece of an answer streamed into the artifact `artifact_id` (A2A's append chunks): kept in memory,
        stored with the status change that ends the answer."""
        artifact = {"artifactId": artifact_id, "name": "response", "parts": [{"text": text}]}
        await self.publish({"artifactUpdate": {"taskId": self.task["id"], "contextId": self.task.get("contextId", ""),
                                               "artifact": artifact, "append": not first, "lastChunk": last}},
                           persist=False)

    async def follow(self, start: int = 0) -> AsyncIterator[Json]:
        """The events from index `start`, then each new one as it is published, until the task ends."""
        index = start
        while True:
            wake = self._wake
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if self.done.is_set():
                return
            await wake.wait()

    async def cancel(self) -> None:
        """Stop the work (the worker's cleanup tells a remote agent) and wait until the task says canceled."""
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout=15)


def apply(task: Task, event: Json) -> None:
    """The task after one event."""
    if "task" in event:
        task.update(event["task"])
    elif "statusUpdate" in event:
        status = event["statusUpdate"]["status"]
        task["status"] = status
        if status.get("message"):
            task.setdefault("history", []).append(status["message"])
    elif "artifactUpdate" in event:
        update = event["artifactUpdate"]
        artifacts = task.setdefault("artifacts", [])
        artifact = update["artifact"]
        same = next((a for a in artifacts if a.get("artifactId") == artifact.get("artifactId")), None)
        if same is not None and update.get("append"):
            same["parts"] = appended(same.get("parts", []), artifact.get("parts", []))
        elif same is not None:
            artifacts[artifacts.index(same)] = artifact
        else:  # a copy: appends change the task's artifact, never the event followers are yet to read
            artifacts.append({**artifact, "parts": list(artifact.get("parts") or [])})
    elif "message" in event:
        task.setdefault("history", []).append(event["message"])


def appended(parts: list[Json], more: list[Json]) -> list[Json]:
    """An artifact's parts with streamed ones added: text after text joins the one text part (the stored task
    holds the answer as one text, as a client reads it, not one part per token)."""
    out = list(parts)
    for part in more:
        if out and out[-1].keys() == {"text"} and part.keys() == {"text"}:
            out[-1] = {"text": out[-1]["text"] + part["text"]}
        else:
            out.append(part)
    return out


class ArtifactWriter:
    """An answer written into one artifact as it comes: the first piece opens it, the rest append, `close` marks
    the last chunk (or, not streaming, writes the whole answer at once)."""

    def __init__(self, run: TaskRun) -> None:
        self.run, self.artifact_id, self.pieces = run, new_id(), 0

    async def write(self, text: str) -> None:
        if text and self.run.streaming:
            await self.run.piece(self.artifact_id, text, first=not self.pieces, last=False)
            self.pieces += 1

    async def close(self, answer: str) -> None:
        """End the artifact: the last (empty) chunk of a streamed answer, else `answer` as one artifact."""
        if self.pieces:
            await self.run.piece(self.artifact_id, "", first=False, last=True)
        else:
            await self.run.artifact(answer, persist=False)  # stored with the status that follows at once


def running(task_id: str) -> TaskRun | None:
    return _runs.get(task_id)


def start(run: TaskRun, work: Callable[[TaskRun], Awaitable[None]]) -> None:
    """Run `work` in its own asyncio task: a hang-up of the caller does not stop it, a cancel does."""
    _runs[run.task["id"]] = run
    run.worker = asyncio.get_running_loop().create_task(_guarded(run, work))


async def _guarded(run: TaskRun, work: Callable[[TaskRun], Awaitable[None]]) -> None:
    # Only a task whose id was given out can be asked for (or asked to cancel) elsewhere; with no shared backend
    # there is no elsewhere (one process: apps.agents.orphans).
    watcher = None if state().in_process or run.hidden else asyncio.get_running_loop().create_task(_tend(run))
    try:
        await work(run)
        if not run.ended:
            await run.status("TASK_STATE_COMPLETED")
    except asyncio.CancelledError:
        await run.status("TASK_STATE_CANCELED", "The task was canceled.")
    except Exception as error:  # noqa: BLE001 - any failure ends the task as failed, never silently
        run.failure = error
        if not isinstance(error, KNOWN_FAILURES):
            logger.exception("agent task %s failed", run.task["id"])
        await run.status("TASK_STATE_FAILED", str(error) or type(error).__name__)
    finally:
        if watcher is not None:
            watcher.cancel()
        _runs.pop(run.task["id"], None)
        run.done.set()
        run.wake()


async def _tend(run: TaskRun) -> None:
    """While the task runs: renew its lease (a replica that finds it run out ends the task as failed: this process
    died), and cancel the worker when another replica asks."""
    loop = asyncio.get_running_loop()
    renew_every = settings.TOLLGATE_A2A_TASK_LEASE / 3
    renewed = -renew_every
    while run.worker is not None and not run.worker.done():
        try:
            if loop.time() - renewed >= renew_every:
                await store.lease_renew(run.task["id"])
                renewed = loop.time()
            if await store.cancel_requested(run.task["id"]):
                run.worker.cancel()
                return
        except Exception:  # noqa: BLE001 - a state backend outage must not end the task; the next round retries
            logger.warning("could not renew the lease of task %s", run.task["id"], exc_info=True)
        await asyncio.sleep(CANCEL_POLL)


KNOWN_FAILURES = (A2AError, GatewayError, AgentNotFound, HttpFailure)  # expected failures: no traceback logged
