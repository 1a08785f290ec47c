"""Push notifications: when a task ends, each of its push configs gets the task POSTed to its URL (1.0: a
StreamResponse `{"task": ...}`; configs set over 0.3: the 0.3 Task), with its token and credentials."""
from __future__ import annotations

import logging

from apps.agents import store
from apps.agents.wire import Json, Task, task_down
from apps.providers.http_client import HttpFailure, send_json

logger = logging.getLogger("tollgate.agents")
PUSH_TIMEOUT = 10.0


def push_headers(config: Json) -> dict[str, str]:
    headers = {"x-a2a-notification-token": config["token"]} if config.get("token") else {}
    auth = config.get("authentication") or {}
    if auth.get("credentials"):
        headers["authorization"] = f"{auth.get('scheme') or 'Bearer'} {auth['credentials']}"
    return headers


async def notify(task: Task) -> None:
    """Deliver the task to every push config it has; a failed delivery is logged, never raised."""
    configs = await store.push_list(task["id"])
    for config in configs:
        body = task_down(task) if config.get("version") == "0.3" else {"task": task}
        try:
            answer = await send_json("POST", config["url"], headers=push_headers(config), body=body,
                                     timeout=PUSH_TIMEOUT)
        except HttpFailure as failure:
            logger.warning("push notification for task %s failed: %s", task["id"], failure)
            continue
        if answer.status >= 300:
            logger.warning("push notification for task %s answered %s", task["id"], answer.status)
