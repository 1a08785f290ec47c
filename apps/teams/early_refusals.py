"""Calls refused before admission (a blocked or expired key, a blocked team, a model or route the key may not use)
logged as refusals: a spend row with the level and the reason, buffered with the next finished calls' rows (no round
trip of its own), so the dashboard counts them and the "why" view answers for their request ids."""
from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from apps.core.http import meta_request_id
from apps.core.logs import CURRENT_REQUEST_ID
from apps.teams.auth import Principal
from apps.teams.metering import Refusal, refusal_event, refusal_record
from apps.teams.snapshot import KeyRecord

# limit_kind of each early refusal, by the error code the caller gets.
KINDS = {"key_blocked": "blocked", "team_blocked": "blocked", "key_expired": "expired",
         "route_not_allowed": "route", "model_not_allowed": "model"}


def early_refusal_record(key: KeyRecord, *, level: str, code: str, request_id: str, model: str = "",
                         call_type: str = "") -> None:
    """Buffer the refusal row of a call `key` made that `level` refused with error `code`."""
    refusal = Refusal(level=level, kind=KINDS[code], error_type=code)
    refusal_record(refusal_event(Principal(is_master=False, key=key), refusal, request_id=request_id, model=model,
                                 call_type=call_type[:30], tags=key.tags, end_user="", now=time.time()))


def refused_at_the_door(key: KeyRecord, meta: MutableMapping[str, Any], *, level: str, code: str) -> None:
    """A refusal found while authenticating: the request's id (the one its error response carries) and its path
    as the call type, since no body has been read yet."""
    path = meta.get("PATH_INFO")
    early_refusal_record(key, level=level, code=code, request_id=meta_request_id(meta),
                         call_type=path if isinstance(path, str) else "")


def refused_model(key: KeyRecord, *, level: str, model: str) -> None:
    """A model the key or its team may not use, refused while the request (and its id) is being served."""
    early_refusal_record(key, level=level, code="model_not_allowed", request_id=CURRENT_REQUEST_ID.get() or
                         f"req-{time.time_ns():x}", model=model)
