from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from apps.core.secrets import encrypt
from apps.routing.config import ConfigError
from apps.routing.config_reload import ConfigRefused, config_reload
from apps.routing.deployment_test import deployment_test
from apps.teams.errors import TeamSettingsInvalid
from apps.routing.models import Deployment, DeploymentHealth, RouterSettings
from apps.routing.policy import policy_from_settings
from apps.routing.services import deployment_health_probe
from apps.routing import search_admin  # noqa: F401 - registers the search tools' admin
from apps.routing import responses_admin  # noqa: F401 - registers the stored responses' admin

ENV_PREFIX = "os.environ/"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DeploymentForm(forms.ModelForm):
    """The provider key is write-only: never rendered back; `os.environ/NAME` stores the name, anything else is
    stored encrypted."""

    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Write-only. A key is stored encrypted; os.environ/NAME stores only the "
                                        "variable's name. Leave empty to keep the current one.")

    named_env = False  # set by clean() when the key field held os.environ/NAME

    class Meta:
        model = Deployment
        exclude = ["api_key_encrypted"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        given = (cleaned.get("api_key") or "").strip()
        if given.startswith(ENV_PREFIX):
            name = given.removeprefix(ENV_PREFIX)
            if not ENV_NAME.match(name):
                self.add_error("api_key", f"'{name}' is not an environment variable name.")
            cleaned["api_key_env"], cleaned["api_key"] = name, ""
            self.named_env = True
        return cleaned


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
    change_form_template = "admin/routing/deployment/change_form.html"
    change_list_template = "admin/routing/deployment/change_list.html"

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
        elif form.named_env:
            obj.api_key_env, obj.api_key_encrypted = form.cleaned_data["api_key_env"], ""  # the name replaces a key
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        test = path("<int:deployment_id>/test/", self.admin_site.admin_view(self.test_view),
                    name="routing_deployment_test")
        reload = path("reload-config/", self.admin_site.admin_view(self.reload_config_view),
                      name="routing_deployment_reload_config")
        return [test, reload, *super().get_urls()]

    def test_view(self, request: HttpRequest, deployment_id: int) -> HttpResponse:
        """The "test this deployment" button: one tiny call now, its answer and latency."""
        deployment = get_object_or_404(Deployment, pk=deployment_id)
        if request.method != "POST" or not self.has_change_permission(request, deployment):
            return redirect("admin:routing_deployment_change", deployment_id)
        result = deployment_test(deployment=deployment)
        return TemplateResponse(request, "admin/routing/deployment/test_result.html", {
            "title": f"Test of {deployment}", "deployment": deployment, "result": result, "opts": Deployment._meta})

    def reload_config_view(self, request: HttpRequest) -> HttpResponse:
        """The "reload config" button of the deployment list: TOLLGATE_CONFIG loaded again, as load_config does."""
        if request.method == "POST" and self.has_change_permission(request):
            self.reload_config(request)
        return redirect("admin:routing_deployment_changelist")

    def reload_config(self, request: HttpRequest) -> None:
        try:
            loaded = config_reload()
        except (ConfigError, TeamSettingsInvalid) as error:
            self.message_user(request, f"Config not loaded: {error}", messages.ERROR)
            return
        except ConfigRefused as refused:
            self.message_user(request, f"Config not loaded: {refused}", messages.ERROR)
            for warning in refused.warnings:
                self.message_user(request, f"warning: {warning}", messages.WARNING)
            return
        result = loaded.result
        self.message_user(request, f"Loaded {loaded.path}: {result.created} created, {result.updated} updated, "
                                   f"{result.removed} removed; {len(loaded.warnings)} warning(s).", messages.SUCCESS)
        for warning in loaded.warnings:
            self.message_user(request, f"warning: {warning}", messages.WARNING)

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
