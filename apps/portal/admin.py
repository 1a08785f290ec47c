"""The audit log in the admin: read-only, filterable by who, through what, what and when."""
from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.portal.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "via", "action", "object_type", "object_id", "changed_fields"]
    list_filter = ("via", "action", "object_type", ("at", admin.DateFieldListFilter))
    search_fields = ["actor", "object_id", "object_repr", "request_id"]
    date_hierarchy = "at"
    show_full_result_count = False
    fields = ("at", "actor", "via", "action", "object_type", "object_id", "object_repr", "request_id",
              "before_json", "after_json")
    readonly_fields = fields

    @admin.display(description="fields")
    def changed_fields(self, obj: AuditLog) -> str:
        return ", ".join(sorted(set(obj.before) | set(obj.after)))[:120]

    @admin.display(description="before")
    def before_json(self, obj: AuditLog) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.before, indent=2, sort_keys=True))

    @admin.display(description="after")
    def after_json(self, obj: AuditLog) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.after, indent=2, sort_keys=True))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False
