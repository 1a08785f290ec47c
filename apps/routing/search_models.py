"""Search tools (config.yaml's `search_tools`, LiteLLM's LiteLLM_SearchToolsTable): a named web-search provider."""
from __future__ import annotations

from django.db import models

from apps.core.secret_params import SealedJSONField


class SearchTool(models.Model):
    """One way to serve `search_tool_name` (several may share a name: calls are spread and fail over among them)."""

    class Source(models.TextChoices):
        CONFIG = "config", "config.yaml"
        ADMIN = "admin", "admin"

    search_tool_name = models.CharField(max_length=200, db_index=True,
                                        help_text="The name clients search with (/v1/search/{search_tool_name}).")
    search_provider = models.CharField(max_length=50, help_text="tavily, exa_ai, brave, perplexity, google_pse, "
                                                                "searxng, serper or duckduckgo.")
    api_base = models.CharField(max_length=500, blank=True)
    api_key_env = models.CharField(max_length=200, blank=True,
                                   help_text="Name of the environment variable holding the API key.")
    api_key_encrypted = models.TextField(blank=True, help_text="API key encrypted at rest.")
    litellm_params = SealedJSONField(default=dict, blank=True,
                                     help_text="Other parameters (timeout, search_engine_id, input_cost_per_query...).")
    search_tool_info = models.JSONField(default=dict, blank=True, help_text="LiteLLM's search_tool_info (description).")
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    config_id = models.CharField(max_length=200, blank=True, db_index=True,
                                 help_text="search_tool_id: stable id so reloading config.yaml is idempotent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["search_tool_name", "id"]
        constraints = [models.UniqueConstraint(fields=["config_id"], condition=~models.Q(config_id=""),
                                               name="search_tool_unique_config_id")]

    def __str__(self) -> str:
        return f"{self.search_tool_name} -> {self.search_provider}"
