"""Registered agents (LiteLLM_AgentsTable's fields plus our own), their A2A tasks and push configs."""
from __future__ import annotations

import uuid

from django.db import models

from apps.core.secret_params import SealedJSONField


def new_id() -> str:
    return str(uuid.uuid4())


class Agent(models.Model):
    """An agent the gateway serves over A2A: remote (proxied), hosted (a model and a prompt) or in-code."""

    class Kind(models.TextChoices):
        REMOTE = "remote", "remote A2A agent"
        HOSTED = "hosted", "hosted (model + system prompt)"
        CODE = "code", "in-code (Python class)"

    agent_id = models.CharField(max_length=200, primary_key=True, default=new_id)
    agent_name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HOSTED)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=50, blank=True, default="1.0.0")
    skills = models.JSONField(default=list, blank=True, help_text="A2A AgentSkill objects")
    agent_card_params = models.JSONField(default=dict, blank=True, help_text="LiteLLM's agent_card_params")
    litellm_params = SealedJSONField(default=dict, blank=True,
                                     help_text="hosted: model, system_prompt, tools; remote: api_base")
    protocol_version = models.CharField(max_length=10, blank=True, default="",
                                        help_text="remote: the A2A version it speaks (0.3 or 1.0); empty = from its card")
    allowed_teams = models.JSONField(default=list, blank=True, help_text="team ids; empty = any team")
    allowed_keys = models.JSONField(default=list, blank=True, help_text="key aliases or hashes; empty = any key")
    enabled = models.BooleanField(default=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="calls per minute, all callers")
    remote_card = models.JSONField(null=True, blank=True, help_text="remote: its card as fetched once")
    source = models.CharField(max_length=10, default="db", editable=False)  # "db" or "config"
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    updated_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["agent_name"]

    def __str__(self) -> str:
        return self.agent_name


class AgentTask(models.Model):
    """One A2A task as the gateway keeps it (1.0 JSON), readable from every replica."""

    task_id = models.CharField(max_length=200, primary_key=True, default=new_id)
    agent_id = models.CharField(max_length=200, db_index=True)
    context_id = models.CharField(max_length=200, db_index=True)
    owner = models.CharField(max_length=64, db_index=True, help_text="hash of the key that created it")
    state = models.CharField(max_length=40, default="TASK_STATE_SUBMITTED")
    task = models.JSONField(default=dict)
    remote_task_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]


class AgentPushConfig(models.Model):
    """A task's push notification config (url, token, authentication)."""

    task = models.ForeignKey(AgentTask, on_delete=models.CASCADE, related_name="push_configs")
    config_id = models.CharField(max_length=200)
    config = SealedJSONField(default=dict)  # its token and credentials encrypted at rest

    class Meta:
        unique_together = [("task", "config_id")]


class AgentPushDelivery(models.Model):
    """One push notification owed to a client: kept until its URL took it or its attempts ran out, so a delivery
    survives the process that scheduled it (any replica, or Celery beat, retries what is due)."""

    task_id = models.CharField(max_length=200, db_index=True)
    config_id = models.CharField(max_length=200)
    url = models.TextField()
    headers = SealedJSONField(default=dict)  # an Authorization header encrypted at rest
    body = models.JSONField(default=dict)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="due from then; empty once settled")
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["next_attempt_at"], name="agentpush_due")]

    def __str__(self) -> str:
        return f"push {self.config_id} for task {self.task_id}"
