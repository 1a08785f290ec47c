"""Stored Responses (the /v1/responses conversation state), read-only: the gateway writes them, clients delete them."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.routing.responses_model import StoredResponse


@admin.register(StoredResponse)
class StoredResponseAdmin(admin.ModelAdmin):
    list_display = ["response_id", "model_group", "provider", "status", "team_id", "key_id", "created_at"]
    search_fields = ["=response_id", "=previous_response_id"]  # whole ids, on the primary key's index
    show_full_result_count = False
    exclude = ["body", "input_items", "context"]  # the conversation itself stays with the client that made it

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
