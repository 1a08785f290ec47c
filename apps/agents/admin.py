from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.agents.models import Agent, AgentPushConfig, AgentPushDelivery, AgentTask


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["agent_name", "agent_id", "kind", "enabled", "rpm_limit", "protocol_version", "source",
                    "updated_at"]
    list_filter = ["kind", "enabled", "source"]
    search_fields = ["agent_name", "agent_id", "description"]
    readonly_fields = ["source", "remote_card", "created_at", "updated_at", "created_by", "updated_by"]


@admin.register(AgentTask)
class AgentTaskAdmin(admin.ModelAdmin):
    list_display = ["task_id", "agent_id", "state", "context_id", "created_at", "updated_at"]
    list_filter = ["state"]
    search_fields = ["task_id", "agent_id", "context_id"]
    readonly_fields = ["task_id", "agent_id", "context_id", "owner", "state", "task", "remote_task_id",
                       "created_at", "updated_at"]
    show_full_result_count = False


class ReadOnly(admin.ModelAdmin):
    """Rows the A2A bridge writes itself."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AgentPushConfig)
class AgentPushConfigAdmin(ReadOnly):
    """A task's push notification config; its URL is shown, its token and authentication never are."""

    list_display = ["config_id", "task", "url"]
    list_select_related = ["task"]
    search_fields = ["=task__task_id", "=config_id"]
    fields = readonly_fields = ("task", "config_id", "url")

    @admin.display(description="url")
    def url(self, obj: AgentPushConfig) -> str:
        return str(obj.config.get("url", "")) if isinstance(obj.config, dict) else ""


@admin.register(AgentPushDelivery)
class AgentPushDeliveryAdmin(ReadOnly):
    """Push notifications owed or sent; the headers (which carry the client's token) are shown by name only."""

    list_display = ["task_id", "config_id", "url", "attempts", "next_attempt_at", "delivered_at", "last_error"]
    search_fields = ["=task_id"]
    show_full_result_count = False
    fields = readonly_fields = ("task_id", "config_id", "url", "header_names", "attempts", "next_attempt_at",
                                "delivered_at", "last_error", "created_at")

    @admin.display(description="headers")
    def header_names(self, obj: AgentPushDelivery) -> str:
        return ", ".join(sorted(obj.headers)) if isinstance(obj.headers, dict) else ""
