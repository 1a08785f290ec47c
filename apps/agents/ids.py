"""Ids the gateway makes for tasks, contexts, messages and artifacts."""
from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())
