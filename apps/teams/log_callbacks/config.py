"""`litellm_settings.success_callback`, `failure_callback` and `callbacks` into LogCallback rows.

The destinations Tollgate delivers to are `langfuse`, `generic_api` and `s3` (`s3_v2` is LiteLLM's newer name
for the same); `otel` turns traces on (apps.core.tracing); other names (LiteLLM's in-process integrations) are
reported as ignored, as unknown keys are.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from apps.teams.models import LogCallback

KINDS = {"langfuse": "langfuse", "generic_api": "generic_api", "s3": "s3", "s3_v2": "s3"}
ELSEWHERE = frozenset({"otel"})  # OpenTelemetry traces: turned on by the gateway process (apps.core.tracing)


def listed(settings: Mapping[str, Any], name: str) -> list[str]:
    value = settings.get(name) or []
    if isinstance(value, str):
        value = [value]
    return [str(item) for item in value if isinstance(item, str)] if isinstance(value, list) else []


def params_for(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "s3":
        given = settings.get("s3_callback_params")
        return dict(given) if isinstance(given, Mapping) else {}
    return {}


@transaction.atomic
def log_callbacks_apply(*, litellm_settings: Mapping[str, Any]) -> tuple[str, ...]:
    """Make the config's destinations match the file (the admin's own rows stay); the names it ignored."""
    success = listed(litellm_settings, "success_callback") + listed(litellm_settings, "callbacks")
    failure = listed(litellm_settings, "failure_callback") + listed(litellm_settings, "callbacks")
    ignored = tuple(dict.fromkeys(name for name in (*success, *failure)
                                  if name not in KINDS and name not in ELSEWHERE))
    success_kinds = {KINDS[name] for name in success if name in KINDS}
    failure_kinds = {KINDS[name] for name in failure if name in KINDS}
    wanted = {kind: (kind in success_kinds, kind in failure_kinds) for kind in (*success_kinds, *failure_kinds)}
    for kind, (on_success, on_failure) in wanted.items():
        LogCallback.objects.update_or_create(
            name=kind, defaults={"kind": kind, "on_success": on_success, "on_failure": on_failure,
                                 "params": params_for(kind, litellm_settings), "source": "config"})
    LogCallback.objects.filter(source="config").exclude(name__in=list(wanted)).delete()
    return ignored
