"""A LiteLLM proxy database for the import tests: made from our DDL of its schema.prisma, filled as LiteLLM fills it.

LiteLLM writes keys as the SHA-256 hex of the secret (`token`) with a masked `key_name` (`sk-...abcd`), JSON
columns as JSON text, arrays as TEXT[], ids the client chose ("engineering") or UUIDs, budgets by `budget_id`,
team roles in `members_with_roles`, and proxy-model `litellm_params` with every string value encrypted
(NaCl SecretBox under SHA-256 of LITELLM_SALT_KEY, else the master key, then URL-safe base64).
"""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nacl.secret
import psycopg
import pytest
from psycopg.types.json import Jsonb

DDL = Path(__file__).parent / "fixtures" / "litellm_schema.sql"
# The PostgreSQL server that holds the throwaway LiteLLM databases (the target may be SQLite; LiteLLM is always PostgreSQL).
ADMIN_URL = os.environ.get("TOLLGATE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
SALT_KEY = "sk-litellm-salt-0123456789abcdef"
JSON_COLUMNS = frozenset({"aliases", "config", "permissions", "metadata", "model_max_budget", "model_spend",
                          "members_with_roles", "router_settings", "request_tags", "messages", "response",
                          "proxy_server_request", "litellm_params", "model_info", "mcp_tool_permissions"})
NOW = datetime(2026, 11, 20, 9, 30, 0, 123000, tzinfo=UTC).replace(tzinfo=None)  # TIMESTAMP(3): naive UTC


def litellm_encrypt(value: str, salt_key: str = SALT_KEY) -> str:
    """A string as LiteLLM's encrypt_value_helper stores it."""
    box = nacl.secret.SecretBox(hashlib.sha256(salt_key.encode()).digest())
    return base64.urlsafe_b64encode(box.encrypt(value.encode())).decode()


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SourceDatabase:
    """A throwaway LiteLLM database: its URL and a connection for filling it."""

    url: str
    conn: psycopg.Connection[Any]

    def insert(self, table: str, **columns: Any) -> None:
        """One row, as Prisma writes it (JSON columns as JSON, lists elsewhere as arrays)."""
        names = ", ".join(f'"{name}"' for name in columns)
        marks = ", ".join(["%s"] * len(columns))
        values = [Jsonb(v) if name in JSON_COLUMNS else v for name, v in columns.items()]
        self.conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)

    def update(self, table: str, where: Mapping[str, Any], **columns: Any) -> None:
        sets = ", ".join(f'"{name}" = %s' for name in columns)
        cond = " AND ".join(f'"{name}" = %s' for name in where)
        values = [Jsonb(v) if name in JSON_COLUMNS else v for name, v in columns.items()]
        self.conn.execute(f'UPDATE "{table}" SET {sets} WHERE {cond}', [*values, *where.values()])


@contextmanager
def litellm_database() -> Iterator[SourceDatabase]:
    """A fresh database `litellm_src_<random>` with LiteLLM's tables; dropped afterwards."""
    name = f"litellm_src_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"a LiteLLM database is PostgreSQL; none at TOLLGATE_TEST_POSTGRES ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(DDL.read_text())
            yield SourceDatabase(url=url, conn=conn)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The install: one organization, two teams (a chosen id and a UUID), three users, budgets, end users,
# keys (working, blocked, over budget, expired, without team), spend logs and proxy models.
ORG_ID = "6f1c2a4e-8d3b-4c1f-9a7e-2b5d0c9e1a11"
RESEARCH_ID = "0b9f5e3c-1a2d-4e6f-8b7a-9c0d1e2f3a44"
BOB_ID = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b00"
SECRETS = {
    "alice": "sk-AliceOriginalSecret0001",
    "blocked": "sk-BlockedOriginalSecret002",
    "spent": "sk-SpentOriginalSecret00003",
    "expired": "sk-ExpiredOriginalSecret004",
    "service": "sk-ServiceOriginalSecret005",
    "ghost": "sk-GhostTeamOriginalSecret6",
    "research": "sk-ResearchOriginalSecret07",
}


def _budget(db: SourceDatabase, budget_id: str, **fields: Any) -> None:
    db.insert("LiteLLM_BudgetTable", budget_id=budget_id, created_at=NOW, updated_at=NOW,
              created_by="default_user_id", updated_by="default_user_id", **fields)


def _key(db: SourceDatabase, name: str, **fields: Any) -> None:
    secret = SECRETS[name]
    columns: dict[str, Any] = {"token": token_hash(secret), "key_name": f"sk-...{secret[-4:]}", "models": [],
                               "aliases": {}, "config": {}, "permissions": {}, "metadata": {},
                               "model_max_budget": {}, "model_spend": {}, "created_at": NOW, "updated_at": NOW,
                               "created_by": "default_user_id", "updated_by": "default_user_id"}
    columns.update(fields)
    db.insert("LiteLLM_VerificationToken", **columns)


def fill_budgets(db: SourceDatabase) -> None:
    _budget(db, "budget-org-acme", max_budget=1000.0, soft_budget=800.0, rpm_limit=1000, tpm_limit=100000,
            max_parallel_requests=50, budget_duration="30d", budget_reset_at=NOW + timedelta(days=10))
    _budget(db, "budget-member-eng", max_budget=25.0, budget_duration="1mo",
            budget_reset_at=NOW + timedelta(days=11))
    _budget(db, "budget-customer-basic", max_budget=2.5, rpm_limit=10, tpm_limit=2000)
    _budget(db, "budget-key-tier", max_budget=40.0, soft_budget=30.0, rpm_limit=30, tpm_limit=3000,
            model_max_budget={"gpt-4o-mini": {"budget_limit": 5.0, "time_period": "1d"}})


def fill_people(db: SourceDatabase) -> None:
    db.insert("LiteLLM_ModelTable", id=1, aliases={"fast": "gpt-4o-mini"}, created_at=NOW, updated_at=NOW,
              created_by="default_user_id", updated_by="default_user_id")  # /team/new with model_aliases
    db.insert("LiteLLM_ObjectPermissionTable", object_permission_id="perm-alice-laptop", mcp_servers=["github"],
              vector_stores=["kb-engineering"], mcp_tool_permissions={"github": ["list_issues"]})
    db.insert("LiteLLM_OrganizationTable", organization_id=ORG_ID, organization_alias="acme",
              budget_id="budget-org-acme", metadata={"region": "eu"}, models=["gpt-4o-mini", "text-embedding-3-small"],
              spend=12.5, created_at=NOW, updated_at=NOW, created_by="default_user_id", updated_by="default_user_id")
    for user_id, email, role, extra in (
        ("default_user_id", None, "proxy_admin", {"teams": [RESEARCH_ID]}),
        ("alice", "alice@example.com", "internal_user",
         {"user_alias": "Alice", "max_budget": 50.0, "spend": 1.5, "rpm_limit": 120, "tpm_limit": 20000,
          "budget_duration": "7d", "budget_reset_at": NOW + timedelta(days=3), "metadata": {"desk": "4F"},
          "teams": ["engineering", "team-that-was-deleted"], "organization_id": ORG_ID}),
        (BOB_ID, "bob@example.com", "internal_user_viewer",
         {"spend": 0.25, "teams": ["engineering", RESEARCH_ID], "models": ["gpt-4o-mini"]}),
    ):
        db.insert("LiteLLM_UserTable", user_id=user_id, user_email=email, user_role=role,
                  created_at=NOW, updated_at=NOW, **{"models": [], "metadata": {}, **extra})
    db.insert("LiteLLM_TeamTable", team_id="engineering", team_alias="Engineering", organization_id=ORG_ID,
              admins=[], members=[], models=["gpt-4o-mini", "text-embedding-3-small"],
              members_with_roles=[{"role": "admin", "user_id": "alice", "user_email": "alice@example.com"},
                                  {"role": "user", "user_id": BOB_ID, "user_email": None}],
              metadata={"team_member_budget_id": "budget-member-eng", "cost_center": "R&D"},
              max_budget=100.0, soft_budget=80.0, spend=3.25, rpm_limit=100, tpm_limit=10000,
              max_parallel_requests=5, budget_duration="30d", budget_reset_at=NOW + timedelta(days=9),
              model_id=1, created_at=NOW, updated_at=NOW)
    db.insert("LiteLLM_TeamTable", team_id=RESEARCH_ID, team_alias="research", admins=[], members=[], models=[],
              members_with_roles=[{"role": "admin", "user_id": BOB_ID, "user_email": None}], metadata={},
              blocked=True, spend=0.0, created_at=NOW, updated_at=NOW)
    for user_id, team_id, spend in (("alice", "engineering", 1.0), (BOB_ID, "engineering", 0.25),
                                    (BOB_ID, RESEARCH_ID, 0.0)):
        db.insert("LiteLLM_TeamMembership", user_id=user_id, team_id=team_id, spend=spend,
                  budget_id="budget-member-eng" if team_id == "engineering" else None)
    db.insert("LiteLLM_OrganizationMembership", user_id="alice", organization_id=ORG_ID, user_role="org_admin",
              spend=0.0, created_at=NOW, updated_at=NOW)
    db.insert("LiteLLM_OrganizationMembership", user_id=BOB_ID, organization_id=ORG_ID, user_role="internal_user",
              spend=0.0, created_at=NOW, updated_at=NOW)
    db.insert("LiteLLM_EndUserTable", user_id="customer-42", alias="Acme customer", spend=0.75,
              allowed_model_region="eu", default_model="gpt-4o-mini", budget_id="budget-customer-basic")
    db.insert("LiteLLM_EndUserTable", user_id="customer-banned", spend=0.0, blocked=True)


def fill_keys(db: SourceDatabase) -> None:
    _key(db, "alice", key_alias="alice-laptop", user_id="alice", team_id="engineering", organization_id=ORG_ID,
         models=["gpt-4o-mini"], max_budget=10.0, soft_budget_cooldown=False, spend=0.5, rpm_limit=60,
         tpm_limit=5000, max_parallel_requests=2, budget_duration="1d", budget_reset_at=NOW + timedelta(hours=5),
         expires=NOW + timedelta(days=3650), aliases={"gpt-4": "gpt-4o-mini"},
         metadata={"env": "dev", "tags": ["laptop"]}, allowed_routes=["llm_api_routes"],
         model_max_budget={"gpt-4o-mini": {"budget_limit": 2.0, "time_period": "1d"}},
         object_permission_id="perm-alice-laptop")
    _key(db, "blocked", key_alias="bob-old", user_id=BOB_ID, team_id="engineering", blocked=True, spend=0.1)
    _key(db, "spent", key_alias="bob-ci", user_id=BOB_ID, team_id="engineering", max_budget=1.0, spend=1.5)
    _key(db, "expired", user_id=BOB_ID, expires=NOW - timedelta(days=1))
    _key(db, "service", key_alias="billing-service", budget_id="budget-key-tier", blocked=None,
         metadata={"owner": "billing"})
    _key(db, "ghost", key_alias="ghost-team", team_id="team-that-was-deleted")
    _key(db, "research", key_alias="bob-research", user_id=BOB_ID, team_id=RESEARCH_ID)  # a blocked team's key


def fill_spend(db: SourceDatabase) -> None:
    base = {"api_base": "https://api.openai.com/v1", "cache_hit": "False", "cache_key": "", "messages": {},
            "response": {}, "proxy_server_request": {}, "requester_ip_address": "10.0.0.7"}
    db.insert("LiteLLM_SpendLogs", request_id="chatcmpl-0001", call_type="acompletion",
              api_key=token_hash(SECRETS["alice"]), spend=0.000425, total_tokens=42, prompt_tokens=12,
              completion_tokens=30, startTime=NOW, endTime=NOW + timedelta(milliseconds=850),
              completionStartTime=NOW + timedelta(milliseconds=200), model="gpt-4o-mini-2024-07-18",
              model_id="mock-gpt-4o-mini-a", model_group="gpt-4o-mini", custom_llm_provider="openai", user="alice",
              team_id="engineering", organization_id=ORG_ID, end_user="customer-42", status="success",
              request_tags=["laptop"], metadata={"user_api_key_alias": "alice-laptop",
                                                 "usage_object": {"prompt_tokens_details": {"cached_tokens": 4}}},
              **base)
    db.insert("LiteLLM_SpendLogs", request_id="emb-0002", call_type="aembedding",
              api_key=token_hash(SECRETS["alice"]), spend=0.000002, total_tokens=8, prompt_tokens=8,
              completion_tokens=0, startTime=NOW + timedelta(seconds=5), endTime=NOW + timedelta(seconds=5, milliseconds=40),
              model="text-embedding-3-small", model_id="mock-embedding", model_group="text-embedding-3-small",
              custom_llm_provider="openai", user="alice", team_id="engineering", organization_id=ORG_ID,
              end_user="", status="success", request_tags=[], metadata={}, **base)
    db.insert("LiteLLM_SpendLogs", request_id="chatcmpl-0003", call_type="acompletion",
              api_key=token_hash(SECRETS["spent"]), spend=0.0, startTime=NOW + timedelta(seconds=9),
              endTime=NOW + timedelta(seconds=9, milliseconds=15), model="gpt-4o-mini", model_group="gpt-4o-mini",
              custom_llm_provider="openai", user=BOB_ID, team_id="engineering", status="failure",
              request_tags=[], metadata={"error_information": {"error_class": "RateLimitError",
                                                               "error_code": "429"}}, **base)


def fill_models(db: SourceDatabase) -> None:
    def model(model_id: str, name: str, params: dict[str, Any]) -> None:
        db.insert("LiteLLM_ProxyModelTable", model_id=model_id, model_name=name, litellm_params=params,
                  model_info={"id": model_id, "db_model": True}, created_at=NOW, updated_at=NOW,
                  created_by="default_user_id", updated_by="default_user_id")

    model("5a8f0c1e-0000-4000-8000-000000000001", "imported-mock", {"model": "mock/gpt-4o-mini", "rpm": 100})
    model("5a8f0c1e-0000-4000-8000-000000000002", "gpt-4o-db",
          {k: litellm_encrypt(v) for k, v in {"model": "openai/gpt-4o", "api_key": "sk-upstream-db-secret",
                                              "api_base": "https://llm.internal.example/v1"}.items()} | {"tpm": 90000})
    model("5a8f0c1e-0000-4000-8000-000000000003", "claude-db",
          {"model": litellm_encrypt("anthropic/claude-sonnet-4-20250514"),
           "api_key": litellm_encrypt("os.environ/ANTHROPIC_API_KEY")})
    model("5a8f0c1e-0000-4000-8000-000000000004", "unknown-provider-db", {"model": "not-a-provider/some-model"})


def fill_install(db: SourceDatabase) -> None:
    """Everything a running LiteLLM proxy would hold."""
    fill_budgets(db)
    fill_people(db)
    fill_keys(db)
    fill_spend(db)
    fill_models(db)
