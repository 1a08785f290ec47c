"""The audit log: one row per change made through the admin, the portal or the management API."""
from __future__ import annotations

from django.db import models


class AuditLog(models.Model):
    """Who changed what, before and after, and when. Keys appear by hash or alias, never by secret."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        DELETED = "deleted", "deleted"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=300, db_index=True, help_text="user:<name>, key:<sha256> or master key")
    via = models.CharField(max_length=20, db_index=True, help_text="admin, portal, dashboard or api")
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=100, db_index=True, help_text="app_label.model")
    object_id = models.CharField(max_length=300, db_index=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_type} {self.object_id}"
