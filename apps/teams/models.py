"""Organizations, teams, users, virtual keys and spend logs (LiteLLM field names where it has them)."""
from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models

from apps.core.secret_params import SealedJSONField

ID_LENGTH = 200  # LiteLLM's ids are unbounded strings; UUIDs and client-chosen names both fit


def new_id() -> str:
    """LiteLLM's default id: a random UUID as text."""
    return str(uuid.uuid4())


def id_field(**kwargs: object) -> models.CharField:  # type: ignore[type-arg]
    """A public string id (`team_id`, `organization_id`, ...): chosen by the client or a UUID."""
    return models.CharField(max_length=ID_LENGTH, default=new_id, **kwargs)  # type: ignore[arg-type]


def names_field() -> models.JSONField:  # type: ignore[type-arg]
    return models.JSONField(default=list, blank=True)


def mapping_field() -> models.JSONField:  # type: ignore[type-arg]
    return models.JSONField(default=dict, blank=True)


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


class ModelLimitFields(models.Model):
    """Per-model spend and limits ({"gpt-4o": ...}) and LiteLLM's object permissions (MCP servers, vector
    stores, agents), which keys, users, teams and organizations share."""

    model_spend = mapping_field()
    model_max_budget = mapping_field()
    model_rpm_limit = mapping_field()
    model_tpm_limit = mapping_field()
    object_permission = mapping_field()

    class Meta:
        abstract = True


class Budget(models.Model):
    """A reusable budget (LiteLLM_BudgetTable) that end users, keys and memberships point to."""

    budget_id = id_field(primary_key=True)
    max_budget = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    soft_budget = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    max_parallel_requests = models.PositiveIntegerField(null=True, blank=True)
    tpm_limit = models.PositiveBigIntegerField(null=True, blank=True)
    rpm_limit = models.PositiveBigIntegerField(null=True, blank=True)
    model_max_budget = mapping_field()
    budget_duration = models.CharField(max_length=20, blank=True)
    budget_reset_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=ID_LENGTH, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=ID_LENGTH, blank=True)

    def __str__(self) -> str:
        return self.budget_id


class Organization(BudgetFields, ModelLimitFields):
    """The internal integer pk stays for admin and ledgers; every reference uses `organization_id`."""

    organization_id = id_field(unique=True)
    organization_alias = models.CharField(max_length=200, unique=True)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL, related_name="organizations")
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=ID_LENGTH, blank=True)
    updated_by = models.CharField(max_length=ID_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.organization_alias


class User(AbstractUser, BudgetFields, ModelLimitFields):
    """A person or service; `username` is LiteLLM's `user_id`, `user_role` follows LiteLLM's roles."""

    class Role(models.TextChoices):
        PROXY_ADMIN = "proxy_admin", "proxy admin"
        PROXY_ADMIN_VIEWER = "proxy_admin_viewer", "proxy admin viewer"
        INTERNAL_USER = "internal_user", "internal user"
        INTERNAL_USER_VIEWER = "internal_user_viewer", "internal user viewer"

    user_role = models.CharField(max_length=30, choices=Role.choices, default=Role.INTERNAL_USER)
    user_alias = models.CharField(max_length=200, blank=True)
    sso_user_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True, unique=True)
    organization = models.ForeignKey(Organization, to_field="organization_id", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="users")
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    metadata = models.JSONField(default=dict, blank=True)
    allowed_cache_controls = names_field()
    policies = names_field()
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def user_id(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.email or self.username


class Team(BudgetFields, ModelLimitFields):
    """The internal integer pk stays for admin and ledgers; every reference uses `team_id`."""

    team_id = id_field(unique=True)
    team_alias = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(Organization, to_field="organization_id", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="teams")
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    team_member_budget = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    team_member_budget_duration = models.CharField(max_length=20, blank=True)
    team_member_rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    team_member_tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    team_member_key_duration = models.CharField(max_length=20, blank=True)
    team_member_permissions = names_field()
    blocked = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    tags = names_field()
    model_aliases = mapping_field()
    router_settings = mapping_field()
    guardrails = names_field()
    policies = names_field()
    prompts = names_field()
    allowed_passthrough_routes = names_field()
    allowed_vector_store_indexes = names_field()
    secret_manager_settings = mapping_field()
    rpm_limit_type = models.CharField(max_length=40, blank=True)
    tpm_limit_type = models.CharField(max_length=40, blank=True)
    allow_team_guardrail_config = models.BooleanField(default=False)
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.team_alias


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "admin"
        MEMBER = "user", "member"

    team = models.ForeignKey(Team, to_field="team_id", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, to_field="username", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    budget_reset_at = models.DateTimeField(null=True, blank=True)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL, related_name="team_members")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class OrganizationMembership(models.Model):
    """A user in an organization with an organization role (LiteLLM_OrganizationMembership)."""

    class Role(models.TextChoices):
        ORG_ADMIN = "org_admin", "organization admin"
        INTERNAL_USER = "internal_user", "internal user"
        INTERNAL_USER_VIEWER = "internal_user_viewer", "internal user viewer"

    organization = models.ForeignKey(Organization, to_field="organization_id", on_delete=models.CASCADE,
                                     related_name="memberships")
    user = models.ForeignKey(User, to_field="username", on_delete=models.CASCADE,
                             related_name="organization_memberships")
    user_role = models.CharField(max_length=30, choices=Role.choices, default=Role.INTERNAL_USER)
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="organization_members")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="org_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} ({self.user_role})"


class EndUser(models.Model):
    """A customer of a LiteLLM user, named by the `user` field of `/v1` calls (LiteLLM_EndUserTable)."""

    class Region(models.TextChoices):
        EU = "eu", "eu"
        US = "us", "us"

    user_id = models.CharField(max_length=ID_LENGTH, primary_key=True)
    alias = models.CharField(max_length=200, blank=True)
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    allowed_model_region = models.CharField(max_length=10, choices=Region.choices, blank=True)
    default_model = models.CharField(max_length=200, blank=True)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL, related_name="end_users")
    blocked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)  # not LiteLLM's; makes a reused id a fresh ledger

    def __str__(self) -> str:
        return self.alias or self.user_id


class VirtualKey(BudgetFields, ModelLimitFields):
    """A gateway API key. Only the SHA-256 hash of the secret is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    key_name = models.CharField(max_length=20, blank=True, help_text="Masked preview, e.g. sk-...abcd")
    key_alias = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(User, to_field="username", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="keys")
    team = models.ForeignKey(Team, to_field="team_id", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="keys")
    organization = models.ForeignKey(Organization, to_field="organization_id", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="keys")
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL, related_name="keys")
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model names, wildcards or access groups.")
    expires = models.DateTimeField(null=True, blank=True)
    blocked = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    tags = names_field()
    aliases = mapping_field()  # model aliases for this key: {"gpt-4": "gpt-4o"}
    config = mapping_field()
    permissions = mapping_field()
    allowed_cache_controls = names_field()
    allowed_routes = names_field()
    allowed_passthrough_routes = names_field()
    allowed_vector_store_indexes = names_field()
    enforced_params = names_field()
    guardrails = names_field()
    policies = names_field()
    prompts = names_field()
    router_settings = mapping_field()
    key_type = models.CharField(max_length=20, default="default")
    rpm_limit_type = models.CharField(max_length=40, blank=True)
    tpm_limit_type = models.CharField(max_length=40, blank=True)
    soft_budget_cooldown = models.BooleanField(default=False)
    temp_budget_increase = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    temp_budget_expiry = models.DateTimeField(null=True, blank=True)
    auto_rotate = models.BooleanField(default=False)
    rotation_interval = models.CharField(max_length=20, blank=True)
    rotation_count = models.PositiveIntegerField(default=0)
    last_rotation_at = models.DateTimeField(null=True, blank=True)
    key_rotation_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=ID_LENGTH, blank=True)
    updated_by = models.CharField(max_length=ID_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # An alias is unique among one owner's keys (see key_claims): a user's in a team, a team's without a user,
        # a user's without a team, and the keys of nobody. One partial index each, as NULLs never clash in SQL.
        constraints = [
            models.UniqueConstraint(fields=["team", "user", "key_alias"], name="virtualkey_alias_per_member",
                                    condition=~models.Q(key_alias="") & models.Q(team__isnull=False, user__isnull=False)),
            models.UniqueConstraint(fields=["team", "key_alias"], name="virtualkey_alias_per_team",
                                    condition=~models.Q(key_alias="") & models.Q(team__isnull=False, user__isnull=True)),
            models.UniqueConstraint(fields=["user", "key_alias"], name="virtualkey_alias_per_user",
                                    condition=~models.Q(key_alias="") & models.Q(team__isnull=True, user__isnull=False)),
            models.UniqueConstraint(fields=["key_alias"], name="virtualkey_alias_unowned",
                                    condition=~models.Q(key_alias="") & models.Q(team__isnull=True, user__isnull=True)),
        ]
        # The dashboard's key list: the dearest keys first, for everyone or within a team.
        indexes = [models.Index(fields=["-spend", "id"], name="virtualkey_spend"),
                   models.Index(fields=["team", "-spend", "id"], name="virtualkey_team_spend"),
                   # The key list's search: an alias or masked name by its start.
                   models.Index(fields=["key_alias"], name="virtualkey_alias_prefix", opclasses=["varchar_pattern_ops"]),
                   models.Index(fields=["key_name"], name="virtualkey_name_prefix", opclasses=["varchar_pattern_ops"]),
                   # Keys whose budget window ended (the budget reset and the dashboard's top keys), without a
                   # scan of every key: only keys with a window are in it.
                   models.Index(fields=["budget_reset_at"], condition=~models.Q(budget_duration=""),
                                name="virtualkey_window_due"),
                   # The admin's "expired" filter: only keys with an expiry are in it.
                   models.Index(fields=["expires"], condition=models.Q(expires__isnull=False),
                                name="virtualkey_expires")]

    def __str__(self) -> str:
        return self.key_alias or self.key_name


class DeprecatedKey(models.Model):
    """A regenerated key's previous secret, accepted until `revoke_at` (LiteLLM's `grace_period`)."""

    token_hash = models.CharField(max_length=64, unique=True)
    key = models.ForeignKey(VirtualKey, on_delete=models.CASCADE, related_name="deprecated_secrets")
    revoke_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key} until {self.revoke_at:%Y-%m-%d %H:%M}"


class DeletedKey(models.Model):
    """A key as it was when /key/delete removed it (LiteLLM's LiteLLM_DeletedVerificationToken), for
    `/key/list?status=deleted`. Plain ids, not foreign keys: its user or team may be gone as well."""

    token_hash = models.CharField(max_length=64, db_index=True)
    key_alias = models.CharField(max_length=200, blank=True)
    user_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)
    team_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)
    organization_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)
    created_by = models.CharField(max_length=ID_LENGTH, blank=True)
    info = models.JSONField(default=dict)  # the key as /key/info answered it at deletion
    deleted_by = models.CharField(max_length=ID_LENGTH, blank=True)
    deleted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key_alias or self.token_hash[:12]} deleted {self.deleted_at:%Y-%m-%d %H:%M}"


class SoftBudgetAlert(models.Model):
    """The last soft budget alert sent for one level (a ledger), so each crossing is alerted once per window."""

    ledger = models.CharField(max_length=ID_LENGTH + 60, unique=True)
    window_end = models.DateTimeField(null=True, blank=True)  # the level's budget_reset_at when it was sent
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.ledger} at {self.sent_at:%Y-%m-%d %H:%M}"


class SpendLog(models.Model):
    """One row per upstream attempt; (`request_id`, `attempt`) makes flushing idempotent."""

    # No index of its own: the unique (request_id, attempt) index serves lookups by request id, and two
    # more indexes on random ids cost a quarter of PostgreSQL's work per stored row.
    request_id = models.CharField(max_length=100)
    attempt = models.PositiveSmallIntegerField(default=1)
    key_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    key_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Public string ids (Team.team_id, User.username, Organization.organization_id), as LiteLLM logs them.
    team_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True, db_index=True)
    user_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True, db_index=True)
    organization_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)
    end_user = models.CharField(max_length=ID_LENGTH, blank=True, db_default="")
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
    # A refused call (status "refused", no upstream attempt): the level and limit that refused it, with the
    # level's spend (or count) against that limit. Empty or NULL on every other row, so they cost next to nothing.
    limit_level = models.CharField(max_length=20, blank=True, db_default="")
    limit_kind = models.CharField(max_length=20, blank=True, db_default="")
    limit_current = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    limit_max = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)

    class Meta:
        ordering = ["-start_time"]
        constraints = [models.UniqueConstraint(fields=["request_id", "attempt"], name="spendlog_unique_attempt")]
        # The dashboard's top keys and a team admin's reads filter by team and time.
        indexes = [models.Index(fields=["team_id", "start_time"], name="spendlog_team_time"),
                   # Refusals are few: the dashboard lists the latest without walking every row.
                   models.Index(fields=["-start_time"], condition=models.Q(status="refused"),
                                name="spendlog_refused_time")]

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


class LogCallback(models.Model):
    """A destination every stored call is sent to (LiteLLM's `success_callback` / `failure_callback`).

    Delivery reads SpendLog past `cursor` in batches, off the request path (after each spend flush), and
    moves the cursor only when the destination took the batch: a destination that is down gets the same
    calls later, with exponential backoff, so none is lost and none is skipped.
    """

    class Kind(models.TextChoices):
        LANGFUSE = "langfuse", "Langfuse"
        GENERIC_API = "generic_api", "webhook (generic API)"
        S3 = "s3", "S3-compatible storage"

    name = models.CharField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    on_success = models.BooleanField(default=True)
    on_failure = models.BooleanField(default=False)
    params = SealedJSONField(default=dict, blank=True,
                             help_text="Destination settings; secrets encrypted at rest, or os.environ/NAME references.")
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, default="config")  # "config" rows follow the file; "admin" stay
    cursor = models.BigIntegerField(default=0, help_text="The last SpendLog id delivered.")
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_total = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
LATENCY_BOUNDS_MS = (50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200)  # bucket i: below bound i


class SpendRollup(models.Model):
    """Spend rows summed per UTC hour, team, model, provider and deployment (the dashboard's source), in three grains.

    Hours, not days: a day in any whole-hour time zone is a sum of whole buckets, so no day takes a row of the
    next. Latency is a histogram (`lat_0` .. `lat_11`, below each of LATENCY_BOUNDS_MS, the last above) so
    percentiles over any range come from sums.
    """

    # Each row is summed three ways, so a reader never scans more cells than its question needs: per team and
    # deployment (CELL), per deployment over every team (DEPLOYMENTS: team_id ""), per team over every deployment
    # (TEAMS: model, provider and deployment ""). A read takes exactly one grain: nothing counts twice.
    CELL, DEPLOYMENTS, TEAMS = 0, 1, 2
    # The same two all-teams and per-team sums per UTC day (bucket at 00:00 UTC): a span's whole UTC days are read
    # from these, its edge hours (and the hours at a local period's start) from the hourly grains.
    DEPLOYMENTS_DAILY, TEAMS_DAILY = 3, 4
    DAILY = {DEPLOYMENTS: DEPLOYMENTS_DAILY, TEAMS: TEAMS_DAILY}

    grain = models.PositiveSmallIntegerField(default=CELL)
    bucket = models.DateTimeField()
    team_id = models.CharField(max_length=ID_LENGTH, blank=True, default="")
    model_alias = models.CharField(max_length=200, blank=True, default="")
    provider = models.CharField(max_length=50, blank=True, default="")
    deployment_id = models.CharField(max_length=100, blank=True, default="")
    requests = models.BigIntegerField(default=0)  # upstream attempts
    failures = models.BigIntegerField(default=0)
    refusals = models.BigIntegerField(default=0)  # calls refused before any attempt (budgets, limits)
    cost = models.DecimalField(max_digits=24, decimal_places=10, default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    latency_ms_sum = models.BigIntegerField(default=0)
    lat_0 = models.BigIntegerField(default=0)
    lat_1 = models.BigIntegerField(default=0)
    lat_2 = models.BigIntegerField(default=0)
    lat_3 = models.BigIntegerField(default=0)
    lat_4 = models.BigIntegerField(default=0)
    lat_5 = models.BigIntegerField(default=0)
    lat_6 = models.BigIntegerField(default=0)
    lat_7 = models.BigIntegerField(default=0)
    lat_8 = models.BigIntegerField(default=0)
    lat_9 = models.BigIntegerField(default=0)
    lat_10 = models.BigIntegerField(default=0)
    lat_11 = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["grain", "bucket", "team_id", "model_alias", "provider", "deployment_id"],
            name="spendrollup_unique_cell")]
        indexes = [models.Index(fields=["grain", "team_id", "bucket"], name="spendrollup_team_bucket"),
                   # Staff's spend by team over a span: an index-only scan of the per-team grain (PostgreSQL).
                   models.Index(fields=["bucket", "team_id"], name="spendrollup_teams_cover",
                                include=["cost", "requests", "failures", "refusals", "prompt_tokens",
                                         "completion_tokens"], condition=models.Q(grain=2))]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H}h {self.team_id or '-'} {self.model_alias} {self.cost}"


class TagCell(models.Model):
    """The sums of one tag's spend rows in one bucket of time and one team (a row with two tags counts under both)."""

    bucket = models.DateTimeField()
    team_id = models.CharField(max_length=ID_LENGTH, blank=True, default="")
    tag = models.CharField(max_length=200)
    requests = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=24, decimal_places=10, default=0)

    class Meta:
        abstract = True


class SpendTagRollup(TagCell):
    """Spend rows summed per UTC hour, team and tag."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "team_id", "tag"], name="spendtagrollup_unique_cell")]
        indexes = [models.Index(fields=["team_id", "bucket"], name="spendtagrollup_team_bucket"),
                   # Staff's spend by tag over a span (every team): an index-only range scan, not the whole table.
                   models.Index(fields=["bucket"], include=["tag", "cost", "requests"],
                                name="spendtagrollup_bucket_cover")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H}h {self.tag} {self.cost}"


class SpendTagGrain(TagCell):
    """The tag roll-up's coarser grains, as SpendRollup has them: every team together per UTC hour (ALL_TEAMS, team_id
    ""), and per UTC day (bucket at 00:00 UTC) per team and for every team together. A span's whole UTC days are
    read from the daily cells and its edge hours from the hourly ones (SpendTagRollup per team, ALL_TEAMS for staff),
    so staff's spend by tag over 90 days reads about 3,000 cells, not one per team, hour and tag."""

    ALL_TEAMS, TEAMS_DAILY, ALL_TEAMS_DAILY = 1, 2, 3

    grain = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grain", "bucket", "team_id", "tag"],
                                               name="spendtaggrain_unique_cell")]
        # Every read names a grain, a team ("" for all teams) and a bucket range: an index-only range scan.
        indexes = [models.Index(fields=["grain", "team_id", "bucket"], include=["tag", "cost", "requests"],
                                name="spendtaggrain_team_bucket")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H}h grain {self.grain} {self.team_id or '-'} {self.tag} {self.cost}"


class SpendRollupMark(models.Model):
    """The single row saying how far the roll-up has read: every SpendLog row with id <= `last_id` is summed."""

    SINGLETON = 1

    last_id = models.BigIntegerField(default=0)
    # How far SpendTagGrain holds: last_id, unless a release without those grains rolled up (during an upgrade);
    # the next roll-up then rebuilds them from the hourly tag cells, and readers use those cells meanwhile.
    tag_grains_id = models.BigIntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"roll-up up to spend row {self.last_id}"
