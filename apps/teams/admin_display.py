"""Columns and filters the gateway's admin pages share: spend against budget as a bar, status, expiry."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString


def usd(value: Decimal | float | None) -> str:
    return f"{Decimal(str(value or 0)):.4f}"


def spend_bar(spent: Decimal | float | None, limit: Decimal | float | None) -> SafeString:
    """`$spent / $limit` with a bar filled to the share used (amber past 80 %, red at 100 %)."""
    used = Decimal(str(spent or 0))
    if limit is None:
        return format_html('<span class="tg-spend">${}</span> <span class="tg-muted">no budget</span>', usd(used))
    cap = Decimal(str(limit))
    share = min(Decimal(100), used / cap * 100) if cap > 0 else Decimal(100)
    level = "over" if share >= 100 else "warn" if share >= 80 else ""
    return format_html('<span class="tg-bar {}" title="{}%"><span style="width:{}%"></span></span> '
                       '<span class="tg-spend">${} / ${}</span>', level, f"{share:.0f}", f"{share:.1f}", usd(used),
                       usd(cap))


def status_badge(*, blocked: bool, expires: Any = None) -> SafeString:
    """active, blocked or expired, as a coloured badge."""
    status = "blocked" if blocked else "expired" if expires is not None and expires <= timezone.now() else "active"
    return format_html('<span class="tg-badge {}">{}</span>', status, status)


def window(row: Any) -> str:
    """The budget window and when it next resets."""
    duration = getattr(row, "budget_duration", "") or ""
    reset = getattr(row, "budget_reset_at", None)
    if not duration:
        return "lifetime (never resets)"
    return f"every {duration}, next reset {reset:%Y-%m-%d %H:%M} UTC" if reset else f"every {duration}"


class BudgetColumns:
    """`spend_vs_budget` and `budget_window` for admins of rows with spend, max_budget and a window."""

    @admin.display(description="spend / budget", ordering="spend")
    def spend_vs_budget(self, obj: Any) -> SafeString:
        return spend_bar(obj.spend, obj.max_budget)

    @admin.display(description="budget window")
    def budget_window(self, obj: Any) -> str:
        return window(obj)


class ExpiredFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "expired"), ("no", "not expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        expired = Q(expires__lte=timezone.now())
        if self.value() == "yes":
            return queryset.filter(expired)
        if self.value() == "no":
            return queryset.exclude(expired)
        return queryset


BUDGET_FIELDS = ("max_budget", "soft_budget", "budget_duration", "spend", "budget_window", "rpm_limit", "tpm_limit",
                 "max_parallel_requests")
