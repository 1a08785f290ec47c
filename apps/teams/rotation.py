"""Regenerating a key with a grace period: the previous secret keeps working until the grace ends.

LiteLLM's `/key/regenerate` takes `grace_period` ("24h"); the old secret's hash is kept as a DeprecatedKey
row that the key snapshot accepts until `revoke_at`, for the same key row, so spend, budget windows and
counters are shared by both secrets (rotating must not reset a budget).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.teams import services
from apps.teams.durations import add_duration, parse_duration
from apps.teams.models import DeprecatedKey, VirtualKey


@transaction.atomic
def key_regenerate_with_grace(*, key: VirtualKey, fields: Mapping[str, Any], secret: str | None = None,
                              grace_period: str | None = None) -> services.IssuedKey:
    """`services.key_regenerate`, with the old secret accepted for `grace_period` more (InvalidDuration if bad)."""
    duration = parse_duration(grace_period) if grace_period else None
    old_hash = VirtualKey.objects.select_for_update().values_list("token_hash", flat=True).get(pk=key.pk)
    issued = services.key_regenerate(key=key, fields=fields, secret=secret)
    if duration is not None:
        now = timezone.now()
        DeprecatedKey.objects.filter(revoke_at__lte=now).delete()
        DeprecatedKey.objects.update_or_create(token_hash=old_hash, defaults={
            "key": issued.key, "revoke_at": add_duration(now, duration)})
    return issued
