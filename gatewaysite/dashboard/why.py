"""The "why" of one request id: allowed, refused (which level and limit, spent against it), retried, or moved to a
fallback group, read from its spend rows (one per upstream attempt, or one for a refusal)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apps.routing.models import Deployment
from apps.routing.model_entries import model_id_of
from apps.teams.metering import LEVEL_LABELS
from apps.teams.models import SpendLog
from gatewaysite.dashboard.viewer import Viewer

KIND_LABELS = {"budget": "budget", "rpm": "requests per minute", "tpm": "tokens per minute",
               "parallel": "parallel requests"}


@dataclass(frozen=True, slots=True)
class Step:
    """One attempt (or the refusal) and what it meant."""

    row: SpendLog
    group: str  # the model group of the deployment it went to ("" for a refusal)
    meaning: str


@dataclass(frozen=True, slots=True)
class Why:
    request_id: str
    verdict: str  # "allowed", "refused", "failed", "cancelled"
    summary: str
    steps: tuple[Step, ...]


def deployment_groups(rows: Sequence[SpendLog]) -> dict[str, str]:
    """The model group of each deployment id the rows name (LiteLLM's model id or the row number)."""
    ids = {row.deployment_id for row in rows if row.deployment_id}
    numbers = [int(i) for i in ids if i.isdigit()]
    found = Deployment.objects.filter(config_id__in=ids) | Deployment.objects.filter(pk__in=numbers)
    return {model_id_of(d): d.model_name for d in found.only("pk", "config_id", "model_name") if model_id_of(d) in ids}


def refusal_text(row: SpendLog) -> str:
    level = LEVEL_LABELS.get(row.limit_level, row.limit_level or "a level")
    kind = KIND_LABELS.get(row.limit_kind, row.limit_kind or "a limit")
    if row.limit_kind == "blocked":
        return f"Refused: the {level.lower()} is blocked."
    if row.limit_kind == "expired":
        return f"Refused: the {level.lower()} has expired."
    if row.limit_kind == "route":
        return f"Refused: the {level.lower()} may not call this route ({row.call_type})."
    if row.limit_kind == "model":
        return f"Refused: the {level.lower()} may not use model {row.model_alias}."
    if row.limit_kind == "budget":
        return (f"Refused: the {level.lower()} budget was spent (${row.limit_current:.6f} of "
                f"${row.limit_max:.6f}).")
    return f"Refused: the {level.lower()} limit on {kind} was reached ({row.limit_current:.0f} of {row.limit_max:.0f})."


def step_meaning(row: SpendLog, group: str, *, last: bool, next_group: str) -> str:
    if row.status == "refused":
        return refusal_text(row)
    moved = f" in fallback group '{group}'" if group and group != row.model_alias else ""
    if row.status == "success":
        return f"Served by deployment {row.deployment_id}{moved}."
    if row.status == "cancelled":
        return f"The client hung up while deployment {row.deployment_id} answered{moved}."
    after = "Failed" if last else ("Failed; moved to a fallback group" if next_group != group else "Failed; retried")
    return f"{after}: deployment {row.deployment_id}{moved} answered {row.error_type or 'an error'}."


def explain(viewer: Viewer, request_id: str) -> Why | None:
    """Why `request_id` went as it did, None when the viewer may see no row of it."""
    rows = list(SpendLog.objects.filter(viewer.team_filter(), request_id=request_id).order_by("attempt"))
    if not rows:
        return None
    groups = deployment_groups(rows)
    steps: list[Step] = []
    for index, row in enumerate(rows):
        group = groups.get(row.deployment_id, "")
        following = groups.get(rows[index + 1].deployment_id, "") if index + 1 < len(rows) else group
        steps.append(Step(row=row, group=group, meaning=step_meaning(row, group, last=index == len(rows) - 1,
                                                                        next_group=following)))
    return Why(request_id=request_id, verdict=verdict(rows, groups), summary=steps[-1].meaning, steps=tuple(steps))


def verdict(rows: Sequence[SpendLog], groups: dict[str, str]) -> str:
    final = rows[-1]
    if final.status == "refused":
        return "refused"
    if final.status == "cancelled":
        return "cancelled"
    if final.status != "success":
        return "failed"
    retried = len(rows) > 1
    fell_back = any(groups.get(r.deployment_id, r.model_alias) != r.model_alias for r in rows)
    return "allowed after fallback" if fell_back else "allowed after retries" if retried else "allowed"
