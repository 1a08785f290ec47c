"""Deployment records and tables built in memory, with ids unique per test so live state never leaks."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from apps.providers.base import Target
from apps.routing.policy import policy_from_settings
from apps.routing.snapshot import DeploymentRecord, RoutingTable


def deployment(name: str, *, group: str = "g", model: str = "m", price: tuple[str, str] | None = None,
               **fields: Any) -> DeploymentRecord:
    """A record whose id is `name` plus a random suffix; `short(record)` gives `name` back."""
    record_id = f"{name}-{uuid.uuid4().hex[:8]}"
    costs = {}
    if price is not None:
        costs = {"input_cost_per_token": Decimal(price[0]), "output_cost_per_token": Decimal(price[1])}
    return DeploymentRecord(id=record_id, model_name=group, target=Target(provider="mock", model=model,
                            deployment_id=record_id, model_alias=group), **costs, **fields)


def short(record: DeploymentRecord) -> str:
    return record.id.rsplit("-", 1)[0]


def table(groups: dict[str, list[DeploymentRecord]], **settings: Any) -> RoutingTable:
    policy, problems = policy_from_settings(settings)
    assert problems == []
    wildcards = tuple(name for name in groups if "*" in name)
    return RoutingTable(groups={name: tuple(records) for name, records in groups.items()}, settings=settings,
                        policy=policy, wildcards=wildcards)
