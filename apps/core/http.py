"""Small request helpers shared by the /v1 views."""
from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from apps.core.errors import PayloadTooLarge
from apps.core.logs import CURRENT_REQUEST_ID

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BODY_TOO_LARGE = "tollgate.body_too_large"  # set by the lean ASGI handler when it dropped the body
REQUEST_ID_KEY = "tollgate.request_id"  # in META, so error handlers answer with the id the view used


def read_body(request: HttpRequest) -> bytes:
    """The raw body, or 413 when it exceeds TOLLGATE_MAX_REQUEST_BYTES."""
    if request.META.get(BODY_TOO_LARGE):
        raise _too_large()
    try:
        return request.body
    except RequestDataTooBig:
        raise _too_large() from None


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {settings.TOLLGATE_MAX_REQUEST_BYTES} bytes.")


def request_id(request: HttpRequest) -> str:
    """The client's `x-request-id` when it is well-formed, else a fresh one (the same for the whole request)."""
    return meta_request_id(request.META)


def meta_request_id(meta: MutableMapping[str, Any]) -> str:
    """request_id() from the request's META, for code that is handed the headers only (authentication)."""
    known = meta.get(REQUEST_ID_KEY)
    if isinstance(known, str):
        return known
    given = meta.get("HTTP_X_REQUEST_ID")
    rid = given if isinstance(given, str) and REQUEST_ID.match(given) else f"req-{os.urandom(16).hex()}"
    meta[REQUEST_ID_KEY] = rid
    CURRENT_REQUEST_ID.set(rid)  # for the logs written while this request is served
    return rid
