from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from apps.teams.models import (Budget, EndUser, LogCallback, Organization, OrganizationMembership, ProxyBudget,
                               SpendLog, Team, TeamMembership, User, VirtualKey)
from apps.teams.proxy_budget import proxy_budget_set


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "user_role", "spend", "max_budget", "is_staff"]
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Gateway", {"fields": (
        "user_role", "allowed_models", "max_budget", "soft_budget", "budget_duration", "budget_reset_at", "spend",
        "rpm_limit", "tpm_limit", "max_parallel_requests", "metadata")}))


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["organization_id", "organization_alias", "spend", "max_budget", "budget_duration"]
    search_fields = ["organization_id", "organization_alias"]


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["team_id", "team_alias", "organization", "spend", "max_budget", "blocked"]
    list_select_related = ["organization"]
    search_fields = ["team_id", "team_alias"]
    inlines = [MembershipInline]


@admin.register(VirtualKey)
class VirtualKeyAdmin(admin.ModelAdmin):
    list_display = ["key_name", "key_alias", "team", "user", "spend", "max_budget", "blocked", "expires"]
    list_select_related = ["team", "user"]
    list_filter = ["blocked"]
    search_fields = ["key_alias", "key_name"]
    readonly_fields = ["token_hash", "key_name", "spend", "created_at", "updated_at"]
    raw_id_fields = ["user", "team", "organization", "budget"]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["budget_id", "max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit"]
    search_fields = ["budget_id"]


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ["user_id", "alias", "spend", "budget", "blocked"]
    list_select_related = ["budget"]
    list_filter = ["blocked"]
    search_fields = ["user_id", "alias"]
    raw_id_fields = ["budget"]


@admin.register(OrganizationMembership)
class OrganizationMembershipAdmin(admin.ModelAdmin):
    list_display = ["organization", "user", "user_role", "spend"]
    list_select_related = ["organization", "user"]
    raw_id_fields = ["organization", "user", "budget"]


@admin.register(SpendLog)
class SpendLogAdmin(admin.ModelAdmin):
    list_display = ["request_id", "model_alias", "provider", "prompt_tokens", "completion_tokens", "cost", "status",
                    "start_time"]
    list_filter = ["status", "provider"]
    search_fields = ["request_id", "model_alias"]
    show_full_result_count = False  # counting millions of rows on every page load is the slow part
    date_hierarchy = "start_time"


@admin.register(LogCallback)
class LogCallbackAdmin(admin.ModelAdmin):
    """Logging destinations; delivery state is read-only (the cursor moves only when a batch was taken)."""

    list_display = ["name", "kind", "enabled", "on_success", "on_failure", "delivered_total", "failures",
                    "next_attempt_at", "last_error"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["cursor", "failures", "next_attempt_at", "last_error", "delivered_total", "created_at"]


@admin.register(ProxyBudget)
class ProxyBudgetAdmin(admin.ModelAdmin):
    """The proxy-wide budget (one row); saving goes through proxy_budget_set so a new duration starts its window."""

    list_display = ["__str__", "spend", "max_budget", "budget_duration", "budget_reset_at"]
    fields = ["max_budget", "budget_duration", "budget_reset_at", "spend"]
    readonly_fields = ["budget_reset_at", "spend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ProxyBudget.objects.exists()

    def save_model(self, request: HttpRequest, obj: ProxyBudget, form: Any, change: bool) -> None:
        saved = proxy_budget_set(max_budget=obj.max_budget, budget_duration=obj.budget_duration)
        obj.pk, obj.budget_reset_at = saved.pk, saved.budget_reset_at
