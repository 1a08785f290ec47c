"""System checks: every deployment names a provider some adapter serves."""
from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.db.utils import DatabaseError

from apps.providers.registry import ADAPTERS


@register("database")
def deployments_have_known_providers(app_configs: Any, **kwargs: Any) -> list[Error]:
    from apps.routing.models import Deployment

    try:
        providers = set(Deployment.objects.values_list("provider", flat=True).distinct())
    except DatabaseError:
        return []  # not migrated yet
    return [Error(f"deployments use unknown provider {name!r}", id="routing.E001")
            for name in sorted(providers - set(ADAPTERS))]
