"""The admin for teams, users, organizations, end users, budgets and spend; keys are in admin_keys.py.

Writes that the management API also makes go through the same services (apps/teams/services.py), so the
snapshot, the live counters and the audit log see them the same way.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from apps.teams import services
from apps.teams.admin_display import BUDGET_FIELDS, BudgetColumns, spend_bar, status_badge, window
from apps.teams.admin_keys import VirtualKeyAdmin  # noqa: F401  (registers the key admin)
from apps.teams import admin_spend  # noqa: F401  (registers the spend rows' and roll-ups' admins)
from apps.teams.durations import duration_problem, first_reset, parse_duration
from apps.teams.models import (Budget, DeprecatedKey, EndUser, LogCallback, Organization, OrganizationMembership,
                               ProxyBudget, SoftBudgetAlert, Team, TeamMembership, User, VirtualKey)
from apps.teams.proxy_budget import proxy_budget_set
from apps.teams.spend_reset import spend_reset

READ_ONLY_SPEND = ["spend", "budget_window", "budget_reset_at"]


def budget_reset_for(duration: str) -> datetime | None:
    """When a window of `duration` starting now first resets (None: a lifetime budget)."""
    return first_reset(timezone.now(), parse_duration(duration)) if duration else None


@admin.action(description="Reset spend of the selected rows")
def reset_spend(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:  # type: ignore[type-arg]
    modeladmin.message_user(request, f"Reset the spend of {spend_reset(rows=list(queryset))} row(s).",
                            messages.SUCCESS)


@admin.register(User)
class UserAdmin(BudgetColumns, DjangoUserAdmin):
    list_display = ["username", "email", "user_role", "spend_vs_budget", "budget_window", "is_staff", "last_login"]
    list_filter = ["user_role", "is_staff", "is_active", "memberships__team"]
    readonly_fields = READ_ONLY_SPEND
    actions = [reset_spend]
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Gateway", {"fields": ("user_role", "sso_user_id",
                                                                             "allowed_models")}),
                 ("Budget and limits", {"fields": BUDGET_FIELDS}))

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Django's own fields (name, password, staff flags) save as Django's admin does; the gateway's (budget,
        window, limits, models) through services.user_update, so a new or changed window starts now."""
        gateway = {name: form.cleaned_data[name] for name in form.changed_data if name in services.USER_FIELDS}
        super().save_model(request, obj, form, change)
        if gateway:
            obj.budget_reset_at = services.user_update(user=obj, fields=gateway).budget_reset_at


class OrganizationBudgetInline(admin.StackedInline):
    model = OrganizationMembership
    extra = 0
    raw_id_fields = ["user", "budget"]
    readonly_fields = ["spend"]


@admin.register(Organization)
class OrganizationAdmin(BudgetColumns, admin.ModelAdmin):
    list_display = ["organization_id", "organization_alias", "spend_vs_budget", "budget_window"]
    search_fields = ["organization_id", "organization_alias"]
    readonly_fields = READ_ONLY_SPEND
    raw_id_fields = ["budget"]
    actions = [reset_spend]
    inlines = [OrganizationBudgetInline]
    fieldsets = ((None, {"fields": ("organization_id", "organization_alias", "allowed_models", "budget",
                                    "metadata")}), ("Budget and limits", {"fields": BUDGET_FIELDS}))

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None) -> Any:
        return [*READ_ONLY_SPEND, "organization_id"] if obj is not None else READ_ONLY_SPEND

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        """Through the organization services, as /organization/new and /organization/update: a new or changed
        budget window starts now."""
        fields = {name: value for name, value in form.cleaned_data.items() if name in services.ORGANIZATION_FIELDS}
        if change:
            saved = services.organization_update(organization=obj, fields={n: fields[n] for n in form.changed_data
                                                                          if n in fields})
        else:
            saved = services.organization_new(fields=fields,
                                              organization_id=form.cleaned_data.get("organization_id") or None)
        obj.pk, obj.budget_reset_at = saved.pk, saved.budget_reset_at


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    raw_id_fields = ["user", "budget"]
    readonly_fields = ["spend", "member_budget"]
    fields = ["user", "role", "budget", "member_budget", "spend"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TeamMembership]:
        return super().get_queryset(request).select_related("user", "budget", "team")

    @admin.display(description="member budget")
    def member_budget(self, obj: TeamMembership) -> SafeString:
        return spend_bar(obj.spend, obj.budget.max_budget if obj.budget else obj.team.team_member_budget)


INLINE_KEYS = 20  # a team of thousands of keys lists them in the key list, linked from the team's page


class FirstKeysFormSet(forms.BaseInlineFormSet):
    """Only the team's INLINE_KEYS dearest keys (the key list's index order), not every one of its keys."""

    def get_queryset(self) -> QuerySet[VirtualKey]:
        if not hasattr(self, "_first_keys"):
            self._first_keys = super().get_queryset().order_by("-spend", "id")[:INLINE_KEYS]
        return self._first_keys


class TeamKeyInline(admin.TabularInline):
    """The team's dearest keys, read-only here (their own page edits them through the key services); the team's
    "keys" line links to all of them in the key list."""

    model = VirtualKey
    formset = FirstKeysFormSet
    verbose_name_plural = f"keys (the {INLINE_KEYS} with the most spend)"
    extra = 0
    fields = ("key_alias", "key_name", "user_id", "spend_and_budget", "key_status", "expires")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[VirtualKey]:
        return super().get_queryset(request).only("key_alias", "key_name", "user_id", "team_id", "spend",
                                                  "max_budget", "blocked", "expires")

    @admin.display(description="user")
    def user_id(self, obj: VirtualKey) -> str:
        return obj.user_id or "-"  # the username itself (the key's user is keyed by it): no user row read

    @admin.display(description="spend / budget")
    def spend_and_budget(self, obj: VirtualKey) -> SafeString:
        return spend_bar(obj.spend, obj.max_budget)

    @admin.display(description="status")
    def key_status(self, obj: VirtualKey) -> SafeString:
        return status_badge(blocked=obj.blocked, expires=obj.expires)


TEAM_EDITABLE = ("team_alias", "organization", "allowed_models", "blocked", "max_budget", "soft_budget",
                 "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests", "team_member_budget",
                 "team_member_budget_duration", "team_member_rpm_limit", "team_member_tpm_limit",
                 "team_member_key_duration", "metadata", "tags", "model_aliases")


@admin.register(Team)
class TeamAdmin(BudgetColumns, admin.ModelAdmin):
    list_display = ["team_id", "team_alias", "organization", "spend_vs_budget", "budget_window", "team_status"]
    list_select_related = ["organization"]
    list_filter = ["blocked", "organization"]
    search_fields = ["team_id", "team_alias"]
    readonly_fields = [*READ_ONLY_SPEND, "all_keys"]
    inlines = [MembershipInline, TeamKeyInline]
    actions = [reset_spend]
    fieldsets = ((None, {"fields": ("team_id", "team_alias", "organization", "allowed_models", "blocked",
                                    "all_keys")}),
                 ("Budget and limits", {"fields": BUDGET_FIELDS}),
                 ("Per-member limits", {"fields": ("team_member_budget", "team_member_budget_duration",
                                                   "team_member_rpm_limit", "team_member_tpm_limit",
                                                   "team_member_key_duration")}),
                 ("Other settings", {"fields": ("metadata", "tags", "model_aliases"), "classes": ["collapse"]}))

    def get_readonly_fields(self, request: HttpRequest, obj: Team | None = None) -> Any:
        return [*READ_ONLY_SPEND, "all_keys", "team_id"] if obj is not None else [*READ_ONLY_SPEND, "all_keys"]

    @admin.display(description="keys")
    def all_keys(self, obj: Team) -> SafeString | str:
        if obj.pk is None:
            return "none yet"
        count = VirtualKey.objects.filter(team_id=obj.team_id).count()  # an index-only count
        url = reverse("admin:teams_virtualkey_changelist") + "?" + urlencode({"team__team_id__exact": obj.team_id})
        return format_html('<a href="{}" id="team-keys">all {} key(s) of this team</a>', url, f"{count:,}")

    @admin.display(description="status")
    def team_status(self, obj: Team) -> SafeString:
        return status_badge(blocked=obj.blocked)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Members are added, changed and removed through the membership services, as /team/member_* do."""
        if formset.model is not TeamMembership:
            super().save_formset(request, form, formset, change)
            return
        team = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []  # the admin's history
        for row in formset.deleted_forms:
            if row.instance.pk is not None:
                services.team_member_delete(team=team, user=row.instance.user)
                formset.deleted_objects.append(row.instance)
        for row in formset.forms:
            if row in formset.deleted_forms or not row.has_changed() or not row.cleaned_data.get("user"):
                continue
            member = services.team_member_add(team=team, user=row.cleaned_data["user"], role=row.cleaned_data["role"])
            if row.cleaned_data.get("budget") != member.budget:
                member.budget = row.cleaned_data.get("budget")
                member.save(update_fields=["budget"])
            if row.instance.pk is None:
                formset.new_objects.append(member)
            else:
                formset.changed_objects.append((member, row.changed_data))

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in TEAM_EDITABLE if name in form.cleaned_data}
        if change:
            saved = services.team_update(team=obj, fields={n: fields[n] for n in form.changed_data if n in fields})
        else:
            saved = services.team_new(fields=fields, team_id=form.cleaned_data.get("team_id") or None)
        obj.pk = saved.pk


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["budget_id", "max_budget", "soft_budget", "budget_duration", "budget_reset_at", "rpm_limit",
                    "tpm_limit"]
    search_fields = ["budget_id"]
    readonly_fields = ["budget_reset_at", "created_at", "updated_at"]


class EndUserForm(forms.ModelForm):
    """The end user's budget is edited here: the fields write its Budget row (made on first use)."""

    max_budget = forms.DecimalField(required=False, min_value=0, max_digits=20, decimal_places=10,
                                    help_text="USD; writes the end user's budget row.")
    budget_duration = forms.CharField(required=False, help_text="30d, 1mo, daily, ...")

    class Meta:
        model = EndUser
        fields = ["user_id", "alias", "allowed_model_region", "default_model", "blocked", "budget"]

    def clean_budget_duration(self) -> str:
        duration = (self.cleaned_data.get("budget_duration") or "").strip()
        problem = duration_problem(duration)
        if problem:
            raise forms.ValidationError(problem)
        return duration

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        budget = self.instance.budget if self.instance.pk else None
        if budget is not None:
            self.fields["max_budget"].initial = budget.max_budget
            self.fields["budget_duration"].initial = budget.budget_duration


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    form = EndUserForm
    list_display = ["user_id", "alias", "spend_vs_budget", "budget_window", "blocked"]
    list_select_related = ["budget"]
    list_filter = ["blocked"]
    search_fields = ["user_id", "alias"]
    raw_id_fields = ["budget"]
    readonly_fields = ["spend", "budget_window"]
    actions = [reset_spend]
    fieldsets = ((None, {"fields": ("user_id", "alias", "allowed_model_region", "default_model", "blocked")}),
                 ("Budget", {"fields": ("budget", "max_budget", "budget_duration", "spend", "budget_window")}))

    @admin.display(description="spend / budget", ordering="spend")
    def spend_vs_budget(self, obj: EndUser) -> SafeString:
        return spend_bar(obj.spend, obj.budget.max_budget if obj.budget else None)

    @admin.display(description="budget window")
    def budget_window(self, obj: EndUser) -> str:
        return window(obj.budget) if obj.budget else "no budget"

    def save_model(self, request: HttpRequest, obj: EndUser, form: Any, change: bool) -> None:
        limits = {name: form.cleaned_data[name] for name in ("max_budget", "budget_duration")
                  if name in form.changed_data}
        if limits:
            if "budget_duration" in limits:
                limits["budget_reset_at"] = budget_reset_for(limits["budget_duration"])
            obj.budget = services.member_budget(obj.budget, limits)
        super().save_model(request, obj, form, change)


@admin.register(DeprecatedKey)
class DeprecatedKeyAdmin(admin.ModelAdmin):
    """Regenerated keys' previous secrets (as hashes) and when each stops working."""

    list_display = ["key", "token_hash", "revoke_at", "created_at"]
    list_select_related = ["key"]
    readonly_fields = ["key", "token_hash", "revoke_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SoftBudgetAlert)
class SoftBudgetAlertAdmin(admin.ModelAdmin):
    list_display = ["ledger", "window_end", "sent_at"]
    search_fields = ["ledger"]
    readonly_fields = ["ledger", "window_end", "sent_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OrganizationMembership)
class OrganizationMembershipAdmin(admin.ModelAdmin):
    list_display = ["organization", "user", "user_role", "spend"]
    list_select_related = ["organization", "user"]
    raw_id_fields = ["organization", "user", "budget"]
    readonly_fields = ["spend"]


@admin.register(LogCallback)
class LogCallbackAdmin(admin.ModelAdmin):
    """Logging destinations; delivery state is read-only (the cursor moves only when a batch was taken)."""

    list_display = ["name", "kind", "enabled", "on_success", "on_failure", "delivered_total", "failures",
                    "next_attempt_at", "last_error"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["cursor", "failures", "next_attempt_at", "last_error", "delivered_total", "created_at"]


@admin.register(ProxyBudget)
class ProxyBudgetAdmin(BudgetColumns, admin.ModelAdmin):
    """The proxy-wide budget (one row); saving goes through proxy_budget_set so a new duration starts its window."""

    list_display = ["__str__", "spend_vs_budget", "budget_window"]
    fields = ["max_budget", "budget_duration", "budget_window", "spend"]
    readonly_fields = ["budget_window", "spend"]
    actions = [reset_spend]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ProxyBudget.objects.exists()

    def save_model(self, request: HttpRequest, obj: ProxyBudget, form: Any, change: bool) -> None:
        saved = proxy_budget_set(max_budget=obj.max_budget, budget_duration=obj.budget_duration)
        obj.pk, obj.budget_reset_at = saved.pk, saved.budget_reset_at
