"""One sender per destination kind: a batch of stored calls in, delivered or `DeliveryFailed` out."""
from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from apps.core import jsonutil
from apps.teams.models import LogCallback, SpendLog

TIMEOUT = 10.0
ENV_PREFIX = "os.environ/"


class DeliveryFailed(Exception):
    """The destination did not take the batch (unreachable, an error status, or misconfigured)."""


class Sender(Protocol):
    def send(self, rows: Sequence[SpendLog]) -> None: ...


def resolved(value: Any) -> Any:
    """`os.environ/NAME` read now (so a rotated secret is picked up), anything else as written."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return os.environ.get(value[len(ENV_PREFIX):], "")
    return value


def param(params: Mapping[str, Any], name: str, *, env: str = "", default: str = "") -> str:
    """A destination setting: from its params (resolved), else LiteLLM's environment variable, else `default`."""
    value = resolved(params.get(name)) or (os.environ.get(env, "") if env else "")
    return str(value or default)


def http_send(method: str, url: str, body: bytes, headers: Mapping[str, str]) -> None:
    """One request; DeliveryFailed unless it answers 2xx."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) from config
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"{url} answered {response.status}")
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"{url} answered {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DeliveryFailed(f"{url} unreachable: {getattr(error, 'reason', error)}") from None


def sender_for(callback: LogCallback) -> Sender:
    from apps.teams.log_callbacks.generic_api import GenericAPISender
    from apps.teams.log_callbacks.langfuse import LangfuseSender
    from apps.teams.log_callbacks.s3 import S3Sender

    kinds: dict[str, type[Any]] = {"langfuse": LangfuseSender, "generic_api": GenericAPISender, "s3": S3Sender}
    return kinds[callback.kind](callback.params or {})  # type: ignore[no-any-return]


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def json_body(value: Any) -> bytes:
    return jsonutil.dumps(value)
