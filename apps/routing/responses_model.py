"""Stored responses of `/v1/responses` (`store` not false): what GET, DELETE and `input_items` answer and what
`previous_response_id` continues, on any provider and any replica."""
from __future__ import annotations

from django.db import models


class StoredResponse(models.Model):
    """One response as the client got it, who made it, and the conversation it ends."""

    response_id = models.CharField(max_length=512, primary_key=True, help_text="The id the client got.")
    key_id = models.BigIntegerField(null=True, blank=True, db_index=True,
                                    help_text="The virtual key that made it (empty: the master key).")
    team_id = models.CharField(max_length=200, blank=True, db_index=True, help_text="The key's team, if any.")
    model_group = models.CharField(max_length=200)
    deployment_id = models.CharField(max_length=200, help_text="model_info.id of the deployment that answered.")
    provider = models.CharField(max_length=50)
    upstream_id = models.CharField(max_length=300, blank=True,
                                   help_text="The provider's own id, for a response passed through to it.")
    previous_response_id = models.CharField(max_length=512, blank=True)
    status = models.CharField(max_length=20)
    body = models.JSONField(help_text="The Response object as the client got it.")
    input_items = models.JSONField(default=list, help_text="This request's input items.")
    context = models.JSONField(default=list, help_text="The whole conversation up to and including its output.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.response_id
