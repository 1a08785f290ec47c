"""Errors the budget and limit checks raise, in LiteLLM's shapes."""
from __future__ import annotations

from apps.core.errors import GatewayError, RateLimited


class BudgetExceeded(GatewayError):
    """A key, user, team member, team or organization has spent its budget (LiteLLM: 400 budget_exceeded)."""

    status = 400
    type = "budget_exceeded"
    code = "400"


class LimitReached(RateLimited):
    """An rpm, tpm or parallel-request limit is reached; `Retry-After` says when to come back."""


class EndUserBlocked(GatewayError):
    """The call's end user (its `user` field) is blocked (LiteLLM: 400 "User blocked from making LLM API Calls")."""

    status = 400
    type = "invalid_request_error"
    code = "end_user_blocked"


class TeamSettingsInvalid(ValueError):
    """An entry of a config's `general_settings.team_settings` that cannot become a team (names the entry)."""
