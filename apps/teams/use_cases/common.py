"""Lookups the use cases share: existing users, organizations, budgets and paging."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.errors import InvalidRequest
from apps.teams import selectors, services
from apps.teams.models import Budget, Organization, User
from apps.teams.selectors import Caller


def existing_user(caller: Caller, user_id: str | None, param: str = "user_id") -> User | None:
    """The user named `user_id` (None for no id); 400 when there is no such user, or the caller may not see it."""
    if not user_id:
        return None
    user = selectors.user_list(caller).filter(username=user_id).first()
    if user is None:
        raise InvalidRequest(f"{param}: user '{user_id}' does not exist; create it with /user/new first.",
                             param=param)
    return user


def existing_budget(budget_id: str | None, param: str = "budget_id") -> Budget | None:
    if not budget_id:
        return None
    budget = Budget.objects.filter(budget_id=budget_id).first()
    if budget is None:
        raise InvalidRequest(f"Budget '{budget_id}' does not exist; create it with /budget/new first.", param=param)
    return budget


def existing_organization(organization_id: str | None, param: str = "organization_id") -> Organization | None:
    if not organization_id:
        return None
    org = Organization.objects.filter(organization_id=organization_id).first()
    if org is None:
        raise InvalidRequest(f"Organization '{organization_id}' does not exist.", param=param)
    return org


def references(body: Mapping[str, Any]) -> dict[str, Any]:
    """Foreign keys named in a body (`organization_id`, `budget_id`) as rows, for the fields given."""
    fields: dict[str, Any] = {}
    if "organization_id" in body:
        fields["organization"] = existing_organization(body["organization_id"])
    if "budget_id" in body:
        fields["budget"] = existing_budget(body["budget_id"])
    return fields


def member_user(caller: Caller, entry: Mapping[str, Any], param: str = "member.user_id") -> User:
    """The user of a member entry, created when only an email is known (LiteLLM does the same).

    A team admin adds only users it can already see: any other answers as a user that does not exist, whether
    it exists or not (so adding members cannot tell anyone which ids or emails are taken).
    """
    if not caller.is_admin:
        return visible_member(caller, entry, param)
    user = selectors.user_find(entry.get("user_id"), email=entry.get("user_email"))
    if user is not None:
        return user
    if entry.get("user_id"):
        raise InvalidRequest(f"User '{entry['user_id']}' does not exist.", param=param)
    user, _ = services.user_new(user_id=entry["user_email"], fields={"email": entry["user_email"]})
    return user


def visible_member(caller: Caller, entry: Mapping[str, Any], param: str) -> User:
    users = selectors.user_list(caller)
    ref = entry.get("user_id") or entry.get("user_email")
    user = users.filter(username=ref).first() if entry.get("user_id") else users.filter(email=ref).first()
    if user is None:
        raise InvalidRequest(f"User '{ref}' does not exist; a proxy admin adds new users with /user/new.", param=param)
    return user


def page_of(total: int, page: int, size: int) -> tuple[slice, int]:
    """The slice of rows on `page` and the number of pages (at least 1)."""
    return slice((page - 1) * size, page * size), max(1, -(-total // size))
