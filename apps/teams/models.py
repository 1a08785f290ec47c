"""Organizations, teams, users, virtual keys and spend logs (LiteLLM field names where it has them)."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class BudgetFields(models.Model):
    """Budget and limit fields shared by keys, users, teams and organizations."""

    max_budget = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    soft_budget = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    budget_duration = models.CharField(max_length=20, blank=True, help_text="30s, 30m, 1h, 1d, 7d, 30d, 1mo")
    budget_reset_at = models.DateTimeField(null=True, blank=True)
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    max_parallel_requests = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class Organization(BudgetFields):
    organization_alias = models.CharField(max_length=200, unique=True)
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.organization_alias


class User(AbstractUser, BudgetFields):
    """A person or service; `user_role` follows LiteLLM's roles."""

    class Role(models.TextChoices):
        PROXY_ADMIN = "proxy_admin", "proxy admin"
        PROXY_ADMIN_VIEWER = "proxy_admin_viewer", "proxy admin viewer"
        INTERNAL_USER = "internal_user", "internal user"
        INTERNAL_USER_VIEWER = "internal_user_viewer", "internal user viewer"

    user_role = models.CharField(max_length=30, choices=Role.choices, default=Role.INTERNAL_USER)
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    metadata = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.email or self.username


class Team(BudgetFields):
    team_alias = models.CharField(max_length=200)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="teams")
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    team_member_budget = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    blocked = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.team_alias


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "admin"
        MEMBER = "user", "member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    budget_reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class VirtualKey(BudgetFields):
    """A gateway API key. Only the SHA-256 hash of the secret is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    key_name = models.CharField(max_length=20, blank=True, help_text="Masked preview, e.g. sk-...abcd")
    key_alias = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="keys")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="keys")
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    expires = models.DateTimeField(null=True, blank=True)
    blocked = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_alias"], condition=~models.Q(key_alias=""),
                                               name="virtualkey_unique_alias")]

    def __str__(self) -> str:
        return self.key_alias or self.key_name


class SpendLog(models.Model):
    """One row per upstream attempt; (`request_id`, `attempt`) makes flushing idempotent."""

    # No index of its own: the unique (request_id, attempt) index serves lookups by request id, and two
    # more indexes on random ids cost a quarter of PostgreSQL's work per stored row.
    request_id = models.CharField(max_length=100)
    attempt = models.PositiveSmallIntegerField(default=1)
    key_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    key_hash = models.CharField(max_length=64, blank=True, db_index=True)
    team_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    model_alias = models.CharField(max_length=200, blank=True)
    deployment_id = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    call_type = models.CharField(max_length=30, default="chat")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, default="success")
    error_type = models.CharField(max_length=100, blank=True)
    start_time = models.DateTimeField(db_index=True)
    end_time = models.DateTimeField()
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-start_time"]
        constraints = [models.UniqueConstraint(fields=["request_id", "attempt"], name="spendlog_unique_attempt")]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.attempt} {self.model_alias} {self.cost}"


class ProxyBudget(BudgetFields):
    """The single row of the proxy-wide budget every /v1 call counts against, master key included
    (LiteLLM's `litellm_settings.max_budget` and `budget_duration`; `load_config` writes it)."""

    SINGLETON = 1

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "proxy budget"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="proxy_budget_singleton")]

    def __str__(self) -> str:
        limit = "no limit" if self.max_budget is None else f"{self.max_budget} per {self.budget_duration or 'lifetime'}"
        return f"proxy budget ({limit})"
