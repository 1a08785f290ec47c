from __future__ import annotations

from django.contrib import admin

from apps.agents.models import Agent, AgentTask


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
