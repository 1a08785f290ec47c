"""Deployments (one upstream model behind a public model name) and router settings."""
from __future__ import annotations

from django.db import models

from apps.core.secret_params import SealedJSONField


class Deployment(models.Model):
    """One way to serve `model_name`: a provider model at an endpoint with credentials and limits."""

    class Source(models.TextChoices):
        CONFIG = "config", "config.yaml"
        ADMIN = "admin", "admin"

    model_name = models.CharField(max_length=200, db_index=True,
                                  help_text="Public name clients ask for (the model group).")
    provider = models.CharField(max_length=50, help_text="Adapter prefix, e.g. openai, anthropic, mock.")
    provider_model = models.CharField(max_length=300, help_text="The provider's own model name.")
    api_base = models.CharField(max_length=500, blank=True)
    api_version = models.CharField(max_length=50, blank=True)
    api_key_env = models.CharField(max_length=200, blank=True,
                                   help_text="Name of the environment variable holding the API key.")
    api_key_encrypted = models.TextField(blank=True, help_text="API key encrypted at rest (set via the admin).")
    timeout = models.FloatField(null=True, blank=True, help_text="Seconds; empty uses the global default.")
    rpm = models.PositiveIntegerField(null=True, blank=True)
    tpm = models.PositiveIntegerField(null=True, blank=True)
    weight = models.FloatField(default=1.0)
    input_cost_per_token = models.DecimalField(max_digits=20, decimal_places=12, null=True, blank=True)
    output_cost_per_token = models.DecimalField(max_digits=20, decimal_places=12, null=True, blank=True)
    litellm_params = SealedJSONField(default=dict, blank=True,
                                     help_text="Other provider parameters (region, project, headers...).")
    model_info = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    config_id = models.CharField(max_length=200, blank=True, db_index=True,
                                 help_text="Stable id from config.yaml so reloading is idempotent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["config_id"], condition=~models.Q(config_id=""),
                                    name="deployment_unique_config_id"),
            models.CheckConstraint(condition=models.Q(weight__gte=0), name="deployment_weight_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} -> {self.provider}/{self.provider_model}"


class RouterSettings(models.Model):
    """The single row of router-wide settings (`router_settings` and `litellm_settings` from config)."""

    routing_strategy = models.CharField(max_length=50, default="simple-shuffle")
    num_retries = models.PositiveSmallIntegerField(default=2)
    request_timeout = models.FloatField(null=True, blank=True)
    settings = SealedJSONField(default=dict, blank=True, help_text="Remaining router and litellm settings.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "router settings"

    def __str__(self) -> str:
        return f"router settings ({self.routing_strategy})"


class DeploymentHealth(models.Model):
    """The latest latency probe of one deployment (written by the Celery probe task)."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="health", primary_key=True)
    healthy = models.BooleanField()
    latency_ms = models.FloatField(null=True, blank=True, help_text="Round trip of the probe call.")
    error = models.TextField(blank=True, help_text="The upstream's error when unhealthy (never a key).")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "deployment health"

    def __str__(self) -> str:
        return f"{self.deployment_id}: {'healthy' if self.healthy else 'unhealthy'}"


from apps.routing.search_models import SearchTool  # noqa: E402,F401 - a model of this app, in its own module
from apps.routing.responses_model import StoredResponse  # noqa: E402,F401  (its own module: /v1/responses)
