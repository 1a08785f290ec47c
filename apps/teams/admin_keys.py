"""The virtual-key admin: every write goes through the key services; a new secret is shown once, never stored."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString

from apps.teams import services
from apps.teams.admin_display import BUDGET_FIELDS, BudgetColumns, ExpiredFilter, status_badge
from apps.teams.admin_paging import CappedCountPaginator
from apps.teams.admin_spend import ReadOnlyAdmin
from apps.teams.models import DeletedKey, SpendLog, Team, VirtualKey
from apps.teams.rotation import key_regenerate_with_grace
from apps.teams.spend_reset import spend_reset

SECRET_TEMPLATE = "admin/teams/virtualkey/secret.html"
EDITABLE = ("key_alias", "user", "team", "organization", "allowed_models", "expires", "blocked", "budget",
            "max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests",
            "metadata", "tags", "aliases", "allowed_routes")


class KeyForm(forms.ModelForm):
    duration = forms.CharField(required=False, help_text="New keys: lifetime such as 30d or 1h (empty: never "
                                                         "expires, unless 'expires' is set).")

    class Meta:
        model = VirtualKey
        fields = EDITABLE


# What the key list shows (team and user by their string forms): a row loads no JSON settings.
LISTED = ("key_alias", "key_name", "team__team_id", "team__team_alias", "user__username", "user__email", "spend",
          "max_budget", "blocked", "expires")


class KeyChangeList(ChangeList):
    """The key list's page in three small reads, however deep: the page's ids (an index-only walk of the ids before
    it, not of whole rows with their joins and last-use subqueries), those keys with the listed columns only, and
    when each was last used."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        ids = list(self.result_list.values_list("pk", flat=True))
        keys = VirtualKey.objects.filter(pk__in=ids).select_related("team", "user").only(*LISTED).in_bulk()
        used = dict(SpendLog.objects.filter(key_id__in=ids).order_by().values("key_id").annotate(
            last=Max("start_time")).values_list("key_id", "last"))
        for key in keys.values():
            key.last_used = used.get(key.pk)  # type: ignore[attr-defined]  # the column's value
        self.result_list = [keys[pk] for pk in ids if pk in keys]


def secret_page(request: HttpRequest, issued: services.IssuedKey, title: str) -> TemplateResponse:
    """The one page that ever shows the secret."""
    return TemplateResponse(request, SECRET_TEMPLATE, {"title": title, "key": issued.key, "secret": issued.secret,
                                                       "opts": VirtualKey._meta})


class TeamListFilter(admin.RelatedFieldListFilter):
    """The team filter's choices read as (id, alias) pairs, not as whole teams with their JSON settings."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        return list(Team.objects.order_by("team_alias", "team_id").values_list("team_id", "team_alias"))


@admin.register(VirtualKey)
class VirtualKeyAdmin(BudgetColumns, admin.ModelAdmin):
    form = KeyForm
    list_display = ["key_alias", "key_name", "team", "user", "spend_vs_budget", "last_used_at", "status", "expires"]
    list_select_related = ["team", "user"]
    list_filter = ["blocked", ExpiredFilter, ("team", TeamListFilter)]
    # Searched by indexes only (get_search_results): icontains over these took seconds with 400,000 keys.
    search_fields = ["key_alias", "key_name", "token_hash", "user__username", "team__team_id", "team__team_alias"]
    search_help_text = ("The start of an alias or of a masked key (sk-...), or a whole key hash, user id, team id or "
                        "team alias (case-sensitive).")
    paginator = CappedCountPaginator
    list_per_page = 50  # as the dashboard's key list: rendering a row costs more than finding it
    readonly_fields = ["token_hash", "key_name", "spend", "budget_window", "created_at", "updated_at",
                       "rotation_count", "last_rotation_at"]
    raw_id_fields = ["user", "team", "organization", "budget"]
    actions = ["block", "unblock", "reset_spend", "regenerate"]
    show_full_result_count = False

    def get_fieldsets(self, request: HttpRequest, obj: VirtualKey | None = None) -> Any:
        owner = ("key_alias", "user", "team", "organization", "allowed_models", "duration" if obj is None else
                 "expires", "blocked")
        sections: list[Any] = [(None, {"fields": owner}), ("Budget and limits", {"fields": ("budget", *BUDGET_FIELDS)}),
                               ("Other settings", {"fields": ("metadata", "tags", "aliases", "allowed_routes"),
                                                   "classes": ["collapse"]})]
        if obj is not None:
            sections.append(("Hashes and history", {"fields": ("token_hash", "key_name", "rotation_count",
                                                               "last_rotation_at", "created_at", "updated_at")}))
        return sections

    def get_readonly_fields(self, request: HttpRequest, obj: VirtualKey | None = None) -> Any:
        return self.readonly_fields if obj is not None else ["spend", "budget_window"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[VirtualKey],
                           search_term: str) -> tuple[QuerySet[VirtualKey], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        teams = list(Team.objects.filter(Q(team_id=term) | Q(team_alias=term)).values_list("team_id", flat=True))
        found = Q(key_alias__startswith=term) | Q(key_name__startswith=term) | Q(token_hash=term) | \
            Q(user_id=term) | Q(team_id__in=teams)
        return queryset.filter(found), False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return KeyChangeList

    # Not sortable: ordering 400,000 keys by their newest spend row is a MAX over the spend rows of every key
    # (8.7 s at 1,000,000 rows); a page's keys read theirs in one grouped lookup on the key_id index.
    @admin.display(description="last used")
    def last_used_at(self, obj: VirtualKey) -> Any:
        return getattr(obj, "last_used", None) or "never"

    @admin.display(description="status")
    def status(self, obj: VirtualKey) -> SafeString:
        return status_badge(blocked=obj.blocked, expires=obj.expires)

    def save_model(self, request: HttpRequest, obj: VirtualKey, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        if change:
            changed = {name: fields[name] for name in form.changed_data if name in fields}
            obj.pk = services.key_update(key=obj, fields=changed).pk
            return
        issued = services.key_generate(fields=fields, duration=form.cleaned_data.get("duration") or None)
        obj.pk, obj.token_hash = issued.key.pk, issued.key.token_hash
        request._tollgate_issued = issued  # type: ignore[attr-defined]  # this response only

    def response_add(self, request: HttpRequest, obj: VirtualKey, post_url_continue: str | None = None) -> Any:
        issued = getattr(request, "_tollgate_issued", None)
        if issued is None:
            return super().response_add(request, obj, post_url_continue)
        return secret_page(request, issued, "Key created")

    @admin.action(description="Block selected keys")
    def block(self, request: HttpRequest, queryset: QuerySet[VirtualKey]) -> None:
        for key in queryset:
            services.key_block(key=key, blocked=True)
        self.message_user(request, f"Blocked {queryset.count()} key(s).", messages.SUCCESS)

    @admin.action(description="Unblock selected keys")
    def unblock(self, request: HttpRequest, queryset: QuerySet[VirtualKey]) -> None:
        for key in queryset:
            services.key_block(key=key, blocked=False)
        self.message_user(request, f"Unblocked {queryset.count()} key(s).", messages.SUCCESS)

    @admin.action(description="Reset spend of selected keys")
    def reset_spend(self, request: HttpRequest, queryset: QuerySet[VirtualKey]) -> None:
        self.message_user(request, f"Reset the spend of {spend_reset(rows=list(queryset))} key(s).", messages.SUCCESS)

    @admin.action(description="Regenerate the selected key (one at a time)")
    def regenerate(self, request: HttpRequest, queryset: QuerySet[VirtualKey]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one key to regenerate.", messages.ERROR)
            return None
        issued = key_regenerate_with_grace(key=queryset.get(), fields={})
        return secret_page(request, issued, "Key regenerated")


@admin.register(DeletedKey)
class DeletedKeyAdmin(ReadOnlyAdmin):
    """Keys as they were when /key/delete removed them (what `/key/list?status=deleted` lists)."""

    list_display = ["__str__", "token_hash", "team_id", "user_id", "deleted_by", "deleted_at"]
    search_fields = ["=token_hash", "=key_alias", "=team_id", "=user_id"]
    list_filter = ["deleted_at"]
