"""System checks: a deployment naming a provider no adapter serves is reported (its calls get 400)."""
from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register
from django.db.utils import DatabaseError

from apps.providers.registry import ADAPTERS


@register("database")
def deployments_have_known_providers(app_configs: Any, **kwargs: Any) -> list[Warning]:
    from apps.routing.models import Deployment

    try:
        providers = set(Deployment.objects.values_list("provider", flat=True).distinct())
    except DatabaseError:
        return []  # not migrated yet
    return [Warning(f"deployments use provider {name!r}, which no adapter serves: their calls get 400",
                    id="routing.W001")
            for name in sorted(providers - set(ADAPTERS))]
