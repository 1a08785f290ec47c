"""The admin of search tools: the key write-only and stored encrypted, as for deployments."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.core.secrets import encrypt
from apps.providers.search.registry import SEARCH_PROVIDERS
from apps.routing.models import SearchTool


class SearchToolForm(forms.ModelForm):
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Stored encrypted. Leave empty to keep the current key.")
    search_provider = forms.ChoiceField(choices=[(name, name) for name in sorted(SEARCH_PROVIDERS)])

    class Meta:
        model = SearchTool
        fields = ["search_tool_name", "search_provider", "api_base", "api_key_env", "litellm_params",
                  "search_tool_info", "enabled"]


@admin.register(SearchTool)
class SearchToolAdmin(admin.ModelAdmin):
    form = SearchToolForm
    readonly_fields = ["source", "config_id", "created_at", "updated_at"]
    search_fields = ["search_tool_name"]
    list_filter = ["search_provider", "enabled", "source"]
    list_display = ["search_tool_name", "search_provider", "enabled", "source", "has_stored_key"]

    @admin.display(boolean=True, description="stored key")
    def has_stored_key(self, obj: SearchTool) -> bool:
        return bool(obj.api_key_encrypted)

    def save_model(self, request: HttpRequest, obj: SearchTool, form: Any, change: bool) -> None:
        if form.cleaned_data.get("api_key"):
            obj.api_key_encrypted = encrypt(form.cleaned_data["api_key"])
        super().save_model(request, obj, form, change)
