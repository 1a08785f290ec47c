from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, DeploymentHealth, RouterSettings
from apps.routing.policy import policy_from_settings
from apps.routing.services import deployment_health_probe
from apps.routing import search_admin  # noqa: F401 - registers the search tools' admin


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
                    "has_stored_key", "healthy", "probe_latency_ms"]
    list_filter = ["provider", "enabled", "source", "health__healthy"]
    list_select_related = ["health"]
    search_fields = ["model_name", "provider_model"]
    readonly_fields = ["source", "config_id", "created_at", "updated_at"]
    actions = ["enable", "disable", "probe_now"]

    @admin.display(boolean=True, description="stored key")
    def has_stored_key(self, obj: Deployment) -> bool:
        return bool(obj.api_key_encrypted)

    @admin.display(boolean=True, description="healthy")
    def healthy(self, obj: Deployment) -> bool | None:
        health = getattr(obj, "health", None)
        return None if health is None else health.healthy

    @admin.display(description="probe latency (ms)")
    def probe_latency_ms(self, obj: Deployment) -> float | None:
        health = getattr(obj, "health", None)
        return None if health is None else health.latency_ms

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

    @admin.action(description="Probe selected deployments now")
    def probe_now(self, request: HttpRequest, queryset: Any) -> None:
        results = deployment_health_probe(deployment_ids=list(queryset.values_list("pk", flat=True)))
        bad = sum(1 for health in results if not health.healthy)
        self.message_user(request, f"Probed {len(results)} deployment(s): {bad} unhealthy.",
                          messages.WARNING if bad else messages.SUCCESS)


@admin.register(DeploymentHealth)
class DeploymentHealthAdmin(admin.ModelAdmin):
    list_display = ["deployment", "healthy", "latency_ms", "status_code", "consecutive_failures", "checked_at",
                    "error"]
    list_filter = ["healthy"]
    list_select_related = ["deployment"]
    readonly_fields = ["deployment", "healthy", "latency_ms", "error", "status_code", "consecutive_failures",
                       "checked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class RouterSettingsForm(forms.ModelForm):
    """Refuses settings the router could not use, naming the setting, instead of ignoring them at run time."""

    class Meta:
        model = RouterSettings
        fields = ["routing_strategy", "num_retries", "request_timeout", "settings"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        settings = cleaned.get("settings")
        if not isinstance(settings, dict):
            raise forms.ValidationError({"settings": "Router settings must be a JSON object."})
        _, problems = policy_from_settings({**settings, "routing_strategy": cleaned.get("routing_strategy")})
        for name, message in problems:
            self.add_error("routing_strategy" if name == "routing_strategy" else "settings", message)
        return cleaned


@admin.register(RouterSettings)
class RouterSettingsAdmin(admin.ModelAdmin):
    form = RouterSettingsForm
    list_display = ["routing_strategy", "num_retries", "request_timeout", "updated_at"]
