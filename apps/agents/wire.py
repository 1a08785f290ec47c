"""A2A's wire shapes in both versions: 1.0 (ProtoJSON: `TASK_STATE_*`, `ROLE_*`, bare parts, `statusUpdate`
wrappers) is what the gateway keeps; 0.3 (`kind` fields, lower-case states, `final` on status updates) is
converted to and from it at the edge, so a 0.3 client and a 1.0 agent (or the reverse) meet through us."""
from __future__ import annotations

from typing import Any, Literal, TypedDict

from apps.core import jsonutil

Json = dict[str, Any]
Version = Literal["0.3", "1.0"]
SUPPORTED_VERSIONS: tuple[Version, ...] = ("0.3", "1.0")

STATES = {"submitted": "TASK_STATE_SUBMITTED", "working": "TASK_STATE_WORKING",
          "input-required": "TASK_STATE_INPUT_REQUIRED", "completed": "TASK_STATE_COMPLETED",
          "canceled": "TASK_STATE_CANCELED", "failed": "TASK_STATE_FAILED", "rejected": "TASK_STATE_REJECTED",
          "auth-required": "TASK_STATE_AUTH_REQUIRED", "unknown": "TASK_STATE_UNSPECIFIED"}
LEGACY_STATES = {new: old for old, new in STATES.items()}
TERMINAL = frozenset({"TASK_STATE_COMPLETED", "TASK_STATE_CANCELED", "TASK_STATE_FAILED", "TASK_STATE_REJECTED"})
INTERRUPTED = frozenset({"TASK_STATE_INPUT_REQUIRED", "TASK_STATE_AUTH_REQUIRED"})
ROLES = {"user": "ROLE_USER", "agent": "ROLE_AGENT"}
LEGACY_ROLES = {new: old for old, new in ROLES.items()}


class Message(TypedDict, total=False):
    """A2A 1.0 Message."""

    messageId: str
    contextId: str
    taskId: str
    role: str
    parts: list[Json]
    metadata: Json
    extensions: list[str]
    referenceTaskIds: list[str]


class TaskStatus(TypedDict, total=False):
    state: str
    message: Message
    timestamp: str


class Task(TypedDict, total=False):
    """A2A 1.0 Task."""

    id: str
    contextId: str
    status: TaskStatus
    artifacts: list[Json]
    history: list[Message]
    metadata: Json


def parse_version(header: str | None) -> Version | None:
    """`A2A-Version` as Major.Minor: empty is 0.3 (spec 3.6.2), patch numbers ignored; None when unsupported."""
    if not header or not header.strip():
        return "0.3"
    major_minor = ".".join(header.strip().split(".")[:2])
    return major_minor if major_minor in SUPPORTED_VERSIONS else None  # type: ignore[return-value]


def state_of(value: Any) -> str:
    """A task state in 1.0's spelling, whichever spelling it came in."""
    if isinstance(value, str) and value in STATES:
        return STATES[value]
    return value if isinstance(value, str) and value in LEGACY_STATES else "TASK_STATE_UNSPECIFIED"


def part_up(part: Json) -> Json:
    """A 0.3 part (`kind` text/file/data) as a 1.0 part (text/raw/url/data, mediaType, filename)."""
    kind = part.get("kind")
    out: Json = {k: v for k, v in part.items() if k == "metadata"}
    if kind == "file" or "file" in part:
        file = part.get("file") or {}
        if "bytes" in file:
            out["raw"] = file["bytes"]
        if "uri" in file:
            out["url"] = file["uri"]
        if file.get("mimeType"):
            out["mediaType"] = file["mimeType"]
        if file.get("name"):
            out["filename"] = file["name"]
    elif kind == "data" or ("data" in part and "text" not in part):
        out["data"] = part.get("data")
    else:
        out["text"] = part.get("text", "")
    return out


def part_down(part: Json) -> Json:
    """A 1.0 part as a 0.3 part."""
    meta = {"metadata": part["metadata"]} if part.get("metadata") else {}
    if "raw" in part or "url" in part:
        file: Json = {"bytes": part["raw"]} if "raw" in part else {"uri": part["url"]}
        if part.get("mediaType"):
            file["mimeType"] = part["mediaType"]
        if part.get("filename"):
            file["name"] = part["filename"]
        return {"kind": "file", "file": file, **meta}
    if "data" in part:
        return {"kind": "data", "data": part["data"], **meta}
    return {"kind": "text", "text": part.get("text", ""), **meta}


def message_up(message: Json) -> Message:
    out: Json = {k: v for k, v in message.items() if k not in ("kind", "role", "parts")}
    out["role"] = ROLES.get(message.get("role", ""), message.get("role", ""))
    out["parts"] = [part_up(p) for p in message.get("parts") or [] if isinstance(p, dict)]
    return out  # type: ignore[return-value]


def message_down(message: Message | Json) -> Json:
    out: Json = {k: v for k, v in message.items() if k not in ("role", "parts")}
    out["role"] = LEGACY_ROLES.get(str(message.get("role", "")), "agent")
    out["parts"] = [part_down(p) for p in message.get("parts") or []]
    out["kind"] = "message"
    return out


def artifact_up(artifact: Json) -> Json:
    return {**artifact, "parts": [part_up(p) for p in artifact.get("parts") or []]}


def artifact_down(artifact: Json) -> Json:
    return {**artifact, "parts": [part_down(p) for p in artifact.get("parts") or []]}


def status_up(status: Json) -> TaskStatus:
    out: Json = {**status, "state": state_of(status.get("state"))}
    if isinstance(status.get("message"), dict):
        out["message"] = message_up(status["message"])
    return out  # type: ignore[return-value]


def status_down(status: TaskStatus | Json) -> Json:
    out: Json = {**status, "state": LEGACY_STATES.get(str(status.get("state")), "unknown")}
    if status.get("message"):
        out["message"] = message_down(status["message"])
    return out


def task_up(task: Json) -> Task:
    out: Json = {k: v for k, v in task.items() if k not in ("kind", "status", "history", "artifacts")}
    out["status"] = status_up(task.get("status") or {})
    if task.get("history"):
        out["history"] = [message_up(m) for m in task["history"]]
    if task.get("artifacts"):
        out["artifacts"] = [artifact_up(a) for a in task["artifacts"]]
    return out  # type: ignore[return-value]


def task_down(task: Task | Json) -> Json:
    out: Json = {k: v for k, v in task.items() if k not in ("status", "history", "artifacts")}
    out["kind"] = "task"
    out["status"] = status_down(task.get("status") or {})
    out["history"] = [message_down(m) for m in task.get("history") or []]
    out["artifacts"] = [artifact_down(a) for a in task.get("artifacts") or []]
    return out


def event_down(event: Json) -> Json:
    """A 1.0 StreamResponse as the 0.3 result object (a status update's `final` set by its state)."""
    if "task" in event:
        return task_down(event["task"])
    if "message" in event:
        return message_down(event["message"])
    if "statusUpdate" in event:
        update = event["statusUpdate"]
        final = update["status"]["state"] in TERMINAL | INTERRUPTED
        return {**update, "kind": "status-update", "status": status_down(update["status"]), "final": final}
    update = event["artifactUpdate"]
    return {**update, "kind": "artifact-update", "artifact": artifact_down(update["artifact"])}


def event_up(result: Json) -> Json:
    """A 0.3 stream result (by its `kind`) or a 1.0 StreamResponse, as a 1.0 StreamResponse."""
    if any(name in result for name in ("task", "message", "statusUpdate", "artifactUpdate")):
        return result
    kind = result.get("kind")
    body = {k: v for k, v in result.items() if k not in ("kind", "final")}
    if kind == "task":
        return {"task": task_up(result)}
    if kind == "message":
        return {"message": message_up(result)}
    if kind == "status-update":
        return {"statusUpdate": {**body, "status": status_up(result.get("status") or {})}}
    return {"artifactUpdate": {**body, "artifact": artifact_up(result.get("artifact") or {})}}


def push_config_up(config: Json) -> Json:
    """0.3's TaskPushNotificationConfig {taskId, pushNotificationConfig{...}} as 1.0's flat one."""
    inner = config.get("pushNotificationConfig") or {}
    out: Json = {"taskId": config.get("taskId", ""), **{k: v for k, v in inner.items() if k != "authentication"}}
    auth = inner.get("authentication")
    if isinstance(auth, dict):
        schemes = auth.get("schemes") or [""]
        out["authentication"] = {"scheme": schemes[0], **({"credentials": auth["credentials"]}
                                                          if auth.get("credentials") else {})}
    return out


def push_config_down(config: Json) -> Json:
    inner: Json = {k: v for k, v in config.items() if k in ("id", "url", "token")}
    auth = config.get("authentication")
    if isinstance(auth, dict):
        inner["authentication"] = {"schemes": [auth.get("scheme", "")],
                                   **({"credentials": auth["credentials"]} if auth.get("credentials") else {})}
    return {"taskId": config.get("taskId", ""), "pushNotificationConfig": inner}


def text_of(parts: list[Json]) -> str:
    """The text parts joined (data parts as JSON text), what a model or `process(query)` reads."""
    texts = [p["text"] if "text" in p else jsonutil.dumps(p["data"]).decode() for p in parts
             if "text" in p or "data" in p]
    return "\n".join(texts)
