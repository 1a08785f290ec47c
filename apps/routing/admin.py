from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings


class DeploymentForm(forms.ModelForm):
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Stored encrypted. Leave empty to keep the current key.")

    class Meta:
        model = Deployment
        exclude = ["api_key_encrypted"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
    list_display = ["model_name", "provider", "provider_model", "enabled", "weight", "rpm", "tpm", "source",
                    "has_stored_key"]
    list_filter = ["provider", "enabled", "source"]
    search_fields = ["model_name", "provider_model"]
    readonly_fields = ["source", "config_id", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    @admin.display(boolean=True, description="stored key")
    def has_stored_key(self, obj: Deployment) -> bool:
        return bool(obj.api_key_encrypted)

    def save_model(self, request: HttpRequest, obj: Deployment, form: Any, change: bool) -> None:
        if form.cleaned_data.get("api_key"):
            obj.api_key_encrypted = encrypt(form.cleaned_data["api_key"])
        super().save_model(request, obj, form, change)

    @admin.action(description="Enable selected deployments")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        for deployment in queryset:
            deployment.enabled = True
            deployment.save(update_fields=["enabled", "updated_at"])

    @admin.action(description="Disable selected deployments")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        for deployment in queryset:
            deployment.enabled = False
            deployment.save(update_fields=["enabled", "updated_at"])


@admin.register(RouterSettings)
class RouterSettingsAdmin(admin.ModelAdmin):
    list_display = ["routing_strategy", "num_retries", "request_timeout", "updated_at"]
