"""End users (LiteLLM's customers, named by the `user` field of a /v1 call) as the hot path sees them.

Cached per process like keys, unknown ids included, and dropped with the keys generation. An end user is
created by the spend flush the first time one of its calls is charged (LiteLLM upserts it the same way);
its budget and limits come from the Budget row it points to.
"""
from __future__ import annotations

from dataclasses import dataclass

from apps.teams.snapshot import BudgetScope, KeyCache, budget_scope, stamp

LEVEL = "end_user"
MAX_END_USER_ID = 200


@dataclass(frozen=True, slots=True)
class EndUserRecord:
    """One end user: blocked, and the level its Budget row makes of it (None without a budget)."""

    user_id: str
    blocked: bool
    scope: BudgetScope | None


def end_user_ledger(end_user: object) -> str:
    return f"end_user:{end_user.user_id}:{stamp(end_user.created_at)}"  # type: ignore[attr-defined]


def load_end_user(user_id: str) -> EndUserRecord | None:
    """Read one end user and its budget from the database."""
    from apps.teams.models import EndUser

    end_user = EndUser.objects.select_related("budget").filter(user_id=user_id).first()
    if end_user is None:
        return None
    budget = end_user.budget
    scope = None
    if budget is not None:
        scope = budget_scope(LEVEL, end_user_ledger(end_user), end_user.user_id, _EndUserBudget(end_user, budget))
    return EndUserRecord(user_id=end_user.user_id, blocked=end_user.blocked, scope=scope)


@dataclass(frozen=True, slots=True)
class _EndUserBudget:
    """An end user read like a budget row: its own spend, its Budget's limits and window."""

    end_user: object
    budget: object

    def __getattr__(self, name: str) -> object:
        if name == "spend":
            return self.end_user.spend  # type: ignore[attr-defined]
        return getattr(self.budget, name)


end_user_cache: KeyCache[EndUserRecord] = KeyCache(load_end_user)
