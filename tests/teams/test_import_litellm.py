"""`manage.py import_litellm`: a LiteLLM database (our DDL of its schema.prisma, filled as LiteLLM fills it)
brought over whole, idempotently, and its keys' original secrets served by a real gateway process."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from apps.core.secrets import decrypt
from apps.routing.models import Deployment
from apps.teams.models import (Budget, EndUser, Organization, OrganizationMembership, SpendLog, Team, TeamMembership,
                               User, VirtualKey)
from tests.conftest import GatewayProcess
from tests.teams.conftest import chat, client
from tests.teams.litellm_source import (BOB_ID, NOW, ORG_ID, RESEARCH_ID, SALT_KEY, SECRETS, SourceDatabase, fill_install,
                                        litellm_database, litellm_encrypt, token_hash)

AT = NOW.replace(tzinfo=UTC)
Report = dict[str, dict[str, Any]]
TABLES = ("LiteLLM_BudgetTable", "LiteLLM_OrganizationTable", "LiteLLM_UserTable", "LiteLLM_TeamTable",
          "LiteLLM_TeamMembership", "LiteLLM_OrganizationMembership", "LiteLLM_EndUserTable",
          "LiteLLM_VerificationToken", "LiteLLM_SpendLogs", "LiteLLM_ProxyModelTable")
GHOST_SKIP = ["ghost-team (" + token_hash(SECRETS["ghost"])[:12] + ")",
              "team_id 'team-that-was-deleted' is not in LiteLLM_TeamTable"]
UNKNOWN_PROVIDER_SKIP = ["5a8f0c1e-0000-4000-8000-000000000004",
                         "unknown provider 'not-a-provider' in 'not-a-provider/some-model'"]


@pytest.fixture
def source() -> Iterator[SourceDatabase]:
    with litellm_database() as db:
        fill_install(db)
        yield db


def run_import(source: SourceDatabase, *args: str) -> Report:
    out = StringIO()
    call_command("import_litellm", "--database-url", source.url, "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def counts(report: Report) -> dict[str, tuple[int, int, int, int]]:
    return {table: (t["created"], t["updated"], t["unchanged"], len(t["skipped"])) for table, t in report.items()}


@pytest.fixture
def imported(transactional_db: None, source: SourceDatabase) -> Report:
    return run_import(source, "--salt-key", SALT_KEY)


def test_every_table_is_counted_with_its_skips(imported: Report) -> None:
    assert counts(imported) == {
        "LiteLLM_BudgetTable": (4, 0, 0, 0), "LiteLLM_OrganizationTable": (1, 0, 0, 0),
        "LiteLLM_UserTable": (3, 0, 0, 0), "LiteLLM_TeamTable": (2, 0, 0, 0), "LiteLLM_TeamMembership": (4, 0, 0, 1),
        "LiteLLM_OrganizationMembership": (2, 0, 0, 0), "LiteLLM_EndUserTable": (2, 0, 0, 0),
        "LiteLLM_VerificationToken": (6, 0, 0, 1), "LiteLLM_SpendLogs": (3, 0, 0, 0),
        "LiteLLM_ProxyModelTable": (3, 0, 0, 1)}
    assert imported["LiteLLM_VerificationToken"]["skipped"] == [GHOST_SKIP]
    assert imported["LiteLLM_TeamMembership"]["skipped"] == [
        ["team-that-was-deleted/alice", "user 'alice' lists team_id 'team-that-was-deleted', not in LiteLLM_TeamTable"]]
    assert imported["LiteLLM_ProxyModelTable"]["skipped"] == [UNKNOWN_PROVIDER_SKIP]


def test_a_second_run_changes_nothing(imported: Report, source: SourceDatabase) -> None:
    before = {model.__name__: sorted(map(str, model._default_manager.values_list("pk", flat=True)))
              for model in (Budget, Organization, User, Team, TeamMembership, OrganizationMembership, EndUser,
                            VirtualKey, SpendLog, Deployment)}
    stamps = list(VirtualKey.objects.order_by("pk").values_list("updated_at", flat=True))
    again = run_import(source, "--salt-key", SALT_KEY)
    assert {table: (c[0], c[1]) for table, c in counts(again).items()} == {table: (0, 0) for table in TABLES}
    assert counts(again)["LiteLLM_VerificationToken"] == (0, 0, 6, 1)
    assert before == {model.__name__: sorted(map(str, model._default_manager.values_list("pk", flat=True)))
                      for model in (Budget, Organization, User, Team, TeamMembership, OrganizationMembership, EndUser,
                                    VirtualKey, SpendLog, Deployment)}
    assert list(VirtualKey.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps


def test_the_text_report_says_nothing_changed_the_second_time(imported: Report,
                                                              source: SourceDatabase) -> None:
    out = StringIO()
    call_command("import_litellm", "--database-url", source.url, "--salt-key", SALT_KEY, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "LiteLLM_BudgetTable: 0 created, 0 updated, 4 unchanged, 0 skipped"
    assert f"  skipped LiteLLM_VerificationToken {GHOST_SKIP[0]}: {GHOST_SKIP[1]}" in lines
    assert lines[-1] == "nothing changed"


def test_a_changed_source_row_is_updated_and_only_it(imported: Report,
                                                     source: SourceDatabase) -> None:
    source.update("LiteLLM_TeamTable", {"team_id": "engineering"}, max_budget=150.0, spend=4.0)
    source.update("LiteLLM_VerificationToken", {"token": token_hash(SECRETS["alice"])}, blocked=True)
    again = run_import(source, "--salt-key", SALT_KEY)
    assert counts(again)["LiteLLM_TeamTable"] == (0, 1, 1, 0)
    assert counts(again)["LiteLLM_VerificationToken"] == (0, 1, 5, 1)
    assert sum(c[1] for c in counts(again).values()) == 2
    team = Team.objects.get(team_id="engineering")
    assert (team.max_budget, team.spend) == (Decimal("150"), Decimal("4"))
    assert VirtualKey.objects.get(token_hash=token_hash(SECRETS["alice"])).blocked is True


def test_dry_run_reports_and_writes_nothing(transactional_db: None, source: SourceDatabase) -> None:
    report = run_import(source, "--dry-run")
    assert counts(report)["LiteLLM_VerificationToken"] == (6, 0, 0, 1)
    out = StringIO()
    call_command("import_litellm", "--database-url", source.url, "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[-1] == "dry run: nothing written"
    assert (VirtualKey.objects.count(), Team.objects.count(), Deployment.objects.count()) == (0, 0, 0)


def test_an_unreachable_source_is_a_command_error_without_the_password(transactional_db: None) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("import_litellm", "--database-url", "postgres://postgres:hunter2@127.0.0.1:5432/litellm_src_absent")
    assert str(raised.value).startswith("cannot connect to the LiteLLM database: ")
    assert "hunter2" not in str(raised.value)


def fields(row: object, *names: str) -> dict[str, object]:
    return {name: getattr(row, name) for name in names}


def test_keys_come_over_with_their_hashes_limits_and_owners(imported: Report) -> None:
    alice = VirtualKey.objects.get(token_hash=token_hash(SECRETS["alice"]))
    assert model_to_dict(alice, fields=["key_name", "key_alias", "user", "team", "organization", "budget"]) == {
        "key_name": "sk-...0001", "key_alias": "alice-laptop", "user": "alice", "team": "engineering",
        "organization": ORG_ID, "budget": None}
    assert fields(alice, "max_budget", "soft_budget", "spend", "rpm_limit", "tpm_limit", "max_parallel_requests",
                  "budget_duration", "budget_reset_at", "expires", "blocked", "created_at") == {
        "max_budget": Decimal("10"), "soft_budget": None, "spend": Decimal("0.5"), "rpm_limit": 60, "tpm_limit": 5000,
        "max_parallel_requests": 2, "budget_duration": "1d", "budget_reset_at": AT + timedelta(hours=5),
        "expires": AT + timedelta(days=3650), "blocked": False, "created_at": AT}
    assert fields(alice, "allowed_models", "aliases", "metadata", "tags", "model_max_budget", "allowed_routes",
                  "created_by") == {
        "allowed_models": ["gpt-4o-mini"], "aliases": {"gpt-4": "gpt-4o-mini"},
        "metadata": {"env": "dev", "tags": ["laptop"]}, "tags": ["laptop"],
        "model_max_budget": {"gpt-4o-mini": {"budget_limit": 2.0, "time_period": "1d"}},
        "allowed_routes": ["llm_api_routes"], "created_by": "default_user_id"}
    assert alice.object_permission == {
        "mcp_servers": ["github"], "mcp_access_groups": [], "vector_stores": ["kb-engineering"], "agents": [],
        "agent_access_groups": [], "mcp_tool_permissions": {"github": ["list_issues"]}}
    flags = {name: VirtualKey.objects.get(token_hash=token_hash(SECRETS[name])) for name in ("blocked", "spent", "expired")}
    assert (flags["blocked"].blocked, flags["spent"].spend, flags["spent"].max_budget) == (True, Decimal("1.5"), Decimal("1"))
    assert flags["expired"].expires == AT - timedelta(days=1)


def test_a_keys_budget_overrides_its_own_columns_as_in_litellm(imported: Report) -> None:
    service = VirtualKey.objects.get(token_hash=token_hash(SECRETS["service"]))
    assert fields(service, "budget_id", "max_budget", "soft_budget", "rpm_limit", "tpm_limit", "model_max_budget",
                  "user_id", "team_id") == {
        "budget_id": "budget-key-tier", "max_budget": Decimal("40"), "soft_budget": Decimal("30"), "rpm_limit": 30,
        "tpm_limit": 3000, "model_max_budget": {"gpt-4o-mini": {"budget_limit": 5.0, "time_period": "1d"}},
        "user_id": None, "team_id": None}


def test_teams_keep_their_chosen_and_uuid_ids(imported: Report) -> None:
    engineering = Team.objects.get(team_id="engineering")
    assert fields(engineering, "team_alias", "organization_id", "allowed_models", "max_budget", "soft_budget", "spend",
                  "rpm_limit", "tpm_limit", "max_parallel_requests", "budget_duration", "budget_reset_at", "blocked",
                  "team_member_budget", "team_member_budget_duration", "created_at") == {
        "team_alias": "Engineering", "organization_id": ORG_ID, "allowed_models": ["gpt-4o-mini", "text-embedding-3-small"],
        "max_budget": Decimal("100"), "soft_budget": Decimal("80"), "spend": Decimal("3.25"), "rpm_limit": 100,
        "tpm_limit": 10000, "max_parallel_requests": 5, "budget_duration": "30d",
        "budget_reset_at": AT + timedelta(days=9), "blocked": False, "team_member_budget": Decimal("25"),
        "team_member_budget_duration": "1mo", "created_at": AT}
    assert engineering.metadata == {"team_member_budget_id": "budget-member-eng", "cost_center": "R&D"}
    assert engineering.model_aliases == {"fast": "gpt-4o-mini"}  # from LiteLLM_ModelTable
    research = Team.objects.get(team_id=RESEARCH_ID)
    assert (research.team_alias, research.blocked, research.organization_id) == ("research", True, None)


def test_memberships_carry_roles_spend_and_budgets(imported: Report) -> None:
    rows = {(m.team_id, m.user_id): (m.role, m.spend, m.budget_id, m.budget_reset_at)
            for m in TeamMembership.objects.all()}
    assert rows == {("engineering", "alice"): ("admin", Decimal("1"), "budget-member-eng", AT + timedelta(days=11)),
                    ("engineering", BOB_ID): ("user", Decimal("0.25"), "budget-member-eng", AT + timedelta(days=11)),
                    (RESEARCH_ID, BOB_ID): ("admin", Decimal("0"), None, None),
                    (RESEARCH_ID, "default_user_id"): ("user", Decimal("0"), None, None)}  # from its `teams` only
    orgs = {(m.organization_id, m.user_id): m.user_role for m in OrganizationMembership.objects.all()}
    assert orgs == {(ORG_ID, "alice"): "org_admin", (ORG_ID, BOB_ID): "internal_user"}


def test_users_organizations_budgets_and_end_users(imported: Report) -> None:
    alice = User.objects.get(username="alice")
    assert fields(alice, "email", "user_alias", "user_role", "organization_id", "max_budget", "spend", "rpm_limit",
                  "tpm_limit", "budget_duration", "budget_reset_at", "metadata", "date_joined") == {
        "email": "alice@example.com", "user_alias": "Alice", "user_role": "internal_user", "organization_id": ORG_ID,
        "max_budget": Decimal("50"), "spend": Decimal("1.5"), "rpm_limit": 120, "tpm_limit": 20000,
        "budget_duration": "7d", "budget_reset_at": AT + timedelta(days=3), "metadata": {"desk": "4F"},
        "date_joined": AT}
    assert not alice.has_usable_password()
    assert dict(User.objects.values_list("username", "user_role")) == {
        "alice": "internal_user", BOB_ID: "internal_user_viewer", "default_user_id": "proxy_admin"}
    org = Organization.objects.get(organization_id=ORG_ID)
    assert fields(org, "organization_alias", "budget_id", "max_budget", "soft_budget", "rpm_limit", "tpm_limit",
                  "max_parallel_requests", "budget_duration", "spend", "allowed_models", "metadata") == {
        "organization_alias": "acme", "budget_id": "budget-org-acme", "max_budget": Decimal("1000"),
        "soft_budget": Decimal("800"), "rpm_limit": 1000, "tpm_limit": 100000, "max_parallel_requests": 50,
        "budget_duration": "30d", "spend": Decimal("12.5"), "allowed_models": ["gpt-4o-mini", "text-embedding-3-small"],
        "metadata": {"region": "eu"}}
    tier = Budget.objects.get(budget_id="budget-key-tier")
    assert fields(tier, "max_budget", "soft_budget", "rpm_limit", "tpm_limit", "model_max_budget", "created_at") == {
        "max_budget": Decimal("40"), "soft_budget": Decimal("30"), "rpm_limit": 30, "tpm_limit": 3000,
        "model_max_budget": {"gpt-4o-mini": {"budget_limit": 5.0, "time_period": "1d"}}, "created_at": AT}
    customer = EndUser.objects.get(user_id="customer-42")
    assert fields(customer, "alias", "spend", "allowed_model_region", "default_model", "budget_id", "blocked") == {
        "alias": "Acme customer", "spend": Decimal("0.75"), "allowed_model_region": "eu",
        "default_model": "gpt-4o-mini", "budget_id": "budget-customer-basic", "blocked": False}
    assert EndUser.objects.get(user_id="customer-banned").blocked is True


def test_spend_logs_come_over_one_attempt_each(imported: Report) -> None:
    alice = VirtualKey.objects.get(token_hash=token_hash(SECRETS["alice"]))
    chat_row = SpendLog.objects.get(request_id="chatcmpl-0001")
    assert fields(chat_row, "attempt", "key_id", "key_hash", "team_id", "user_id", "organization_id", "end_user",
                  "model_alias", "deployment_id", "provider", "call_type", "prompt_tokens", "completion_tokens",
                  "cached_tokens", "cost", "latency_ms", "ttft_ms", "status", "error_type", "start_time", "end_time",
                  "tags") == {
        "attempt": 1, "key_id": alice.pk, "key_hash": alice.token_hash, "team_id": "engineering", "user_id": "alice",
        "organization_id": ORG_ID, "end_user": "customer-42", "model_alias": "gpt-4o-mini",
        "deployment_id": "mock-gpt-4o-mini-a", "provider": "openai", "call_type": "chat", "prompt_tokens": 12,
        "completion_tokens": 30, "cached_tokens": 4, "cost": Decimal("0.000425"), "latency_ms": 850, "ttft_ms": 200,
        "status": "success", "error_type": "", "start_time": AT, "end_time": AT + timedelta(milliseconds=850),
        "tags": ["laptop"]}
    assert dict(SpendLog.objects.values_list("request_id", "call_type")) == {
        "chatcmpl-0001": "chat", "emb-0002": "embedding", "chatcmpl-0003": "chat"}
    failed = SpendLog.objects.get(request_id="chatcmpl-0003")
    assert (failed.status, failed.error_type, failed.user_id, failed.ttft_ms) == ("failure", "RateLimitError", BOB_ID, None)


def test_proxy_models_are_decrypted_with_the_salt_key(imported: Report) -> None:
    rows = {row.config_id: row for row in Deployment.objects.all()}
    plain, encrypted, env = (rows[f"5a8f0c1e-0000-4000-8000-00000000000{n}"] for n in (1, 2, 3))
    assert fields(plain, "model_name", "provider", "provider_model", "rpm", "api_key_encrypted", "source") == {
        "model_name": "imported-mock", "provider": "mock", "provider_model": "gpt-4o-mini", "rpm": 100,
        "api_key_encrypted": "", "source": "admin"}
    assert fields(encrypted, "model_name", "provider", "provider_model", "api_base", "tpm", "api_key_env") == {
        "model_name": "gpt-4o-db", "provider": "openai", "provider_model": "gpt-4o",
        "api_base": "https://llm.internal.example/v1", "tpm": 90000, "api_key_env": ""}
    assert decrypt(encrypted.api_key_encrypted) == "sk-upstream-db-secret"
    assert encrypted.model_info == {"id": "5a8f0c1e-0000-4000-8000-000000000002", "db_model": True}
    assert fields(env, "provider", "provider_model", "api_key_env", "api_key_encrypted") == {
        "provider": "anthropic", "provider_model": "claude-sonnet-4-20250514", "api_key_env": "ANTHROPIC_API_KEY",
        "api_key_encrypted": ""}


def test_encrypted_models_without_the_salt_key_are_skipped_with_the_reason(transactional_db: None,
                                                                            source: SourceDatabase) -> None:
    report = run_import(source)
    how = "are encrypted: pass --salt-key (LiteLLM's LITELLM_SALT_KEY, else its master key)"
    assert report["LiteLLM_ProxyModelTable"]["skipped"] == [
        ["5a8f0c1e-0000-4000-8000-000000000002", f"litellm_params.model, litellm_params.api_key, litellm_params.api_base {how}"],
        ["5a8f0c1e-0000-4000-8000-000000000003", f"litellm_params.model, litellm_params.api_key {how}"],
        UNKNOWN_PROVIDER_SKIP]
    wrong = run_import(source, "--salt-key", "sk-not-the-salt")
    assert wrong["LiteLLM_ProxyModelTable"]["skipped"][1] == [
        "5a8f0c1e-0000-4000-8000-000000000003",
        "litellm_params.model, litellm_params.api_key do not decrypt with the salt key given"]
    assert list(Deployment.objects.values_list("model_name", flat=True)) == ["imported-mock"]


def test_a_changed_model_key_is_re_encrypted_once(imported: Report, source: SourceDatabase) -> None:
    source.update("LiteLLM_ProxyModelTable", {"model_id": "5a8f0c1e-0000-4000-8000-000000000002"},
                  litellm_params={"model": litellm_encrypt("openai/gpt-4o"), "api_key": litellm_encrypt("sk-rotated"),
                                  "api_base": litellm_encrypt("https://llm.internal.example/v1"), "tpm": 90000})
    assert counts(run_import(source, "--salt-key", SALT_KEY))["LiteLLM_ProxyModelTable"] == (0, 1, 2, 1)
    assert counts(run_import(source, "--salt-key", SALT_KEY))["LiteLLM_ProxyModelTable"] == (0, 0, 3, 1)
    row = Deployment.objects.get(config_id="5a8f0c1e-0000-4000-8000-000000000002")
    assert decrypt(row.api_key_encrypted) == "sk-rotated"


def test_original_secrets_work_on_the_gateway(imported: Report, example_models: None,
                                              gateway: GatewayProcess) -> None:
    with client(gateway, SECRETS["alice"]) as http:
        answer = chat(http, "gpt-4o-mini")
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "This is a mock response to: hello"
    with client(gateway, SECRETS["service"]) as http:  # a key of no team, limited by its budget, on a database model
        assert chat(http, "imported-mock").status_code == 200


def test_imported_keys_are_refused_as_litellm_refused_them(imported: Report, example_models: None,
                                                           gateway: GatewayProcess) -> None:
    refusals = {}
    for name in ("blocked", "research", "expired", "ghost", "spent"):
        with client(gateway, SECRETS[name]) as http:
            response = chat(http, "gpt-4o-mini")
        refusals[name] = (response.status_code, response.json()["error"]["code"])
    assert refusals == {"blocked": (401, "key_blocked"), "research": (401, "key_blocked"), "expired": (401, "key_expired"),
                        "ghost": (401, "invalid_api_key"), "spent": (400, "400")}
    with client(gateway, SECRETS["spent"]) as http:
        assert chat(http, "gpt-4o-mini").json()["error"] == {
            "message": "Budget has been exceeded! Key=bob-ci Current cost: 1.5, Max budget: 1",
            "type": "budget_exceeded", "param": "key", "code": "400"}
    with client(gateway, SECRETS["alice"]) as http:  # a key's models hold on the gateway as in LiteLLM
        assert chat(http, "text-embedding-3-small").status_code == 401


def test_rows_tollgate_cannot_hold_as_they_are_are_noted_or_skipped(transactional_db: None,
                                                                    source: SourceDatabase) -> None:
    Organization.objects.create(organization_id="tollgate-own-org", organization_alias="acme")
    source.insert("LiteLLM_VerificationToken", token="sk-PlainTextSecret0007", key_alias="plain", models=[])
    source.insert("LiteLLM_VerificationToken", token=token_hash("sk-SecondHolderOfAlias8"), key_alias="alice-laptop",
                  models=[], user_id="alice", team_id="engineering")  # alice's keys in engineering have this alias
    source.insert("LiteLLM_VerificationToken", token=token_hash("sk-OrphanKeyOfNoUser009"), key_alias="alice-laptop",
                  models=[], user_id="someone-deleted")  # a key of nobody: the alias is free among those
    source.insert("LiteLLM_UserTable", user_id="carol", user_role="org_admin", models=[])
    source.insert("LiteLLM_TeamMembership", user_id="nobody", team_id="engineering", spend=0.0)
    report = run_import(source, "--salt-key", SALT_KEY)
    second, orphan = token_hash("sk-SecondHolderOfAlias8")[:12], token_hash("sk-OrphanKeyOfNoUser009")[:12]
    assert report["LiteLLM_VerificationToken"]["skipped"] == [
        GHOST_SKIP, ["plain (not a hash)", "token is not a SHA-256 hex digest"]]
    assert sorted(report["LiteLLM_VerificationToken"]["notes"]) == sorted([
        [f"alice-laptop ({orphan})", "user_id 'someone-deleted' is not in LiteLLM_UserTable: imported without a user"],
        [f"alice-laptop ({second})",
         "key_alias 'alice-laptop' is held by another key of its owner: imported without an alias"]])
    assert report["LiteLLM_OrganizationTable"]["notes"] == [
        [ORG_ID, f"organization_alias 'acme' is taken: imported as 'acme ({ORG_ID})'"]]
    assert report["LiteLLM_UserTable"]["notes"] == [
        ["carol", "user_role 'org_admin' has no Tollgate equivalent: imported as internal_user"]]
    assert report["LiteLLM_TeamMembership"]["skipped"][0] == [
        "engineering/nobody", "user_id 'nobody' is not in LiteLLM_UserTable"]
    assert "PlainTextSecret" not in json.dumps(report)
    second_key = VirtualKey.objects.get(token_hash=token_hash("sk-SecondHolderOfAlias8"))
    assert (second_key.key_alias, second_key.user_id) == ("", "alice")
    orphan_key = VirtualKey.objects.get(token_hash=token_hash("sk-OrphanKeyOfNoUser009"))
    assert (orphan_key.key_alias, orphan_key.user_id, orphan_key.team_id) == ("alice-laptop", None, None)
    assert VirtualKey.objects.get(token_hash=token_hash(SECRETS["alice"])).key_alias == "alice-laptop"
    assert Organization.objects.get(organization_id=ORG_ID).organization_alias == f"acme ({ORG_ID})"
    assert counts(run_import(source, "--salt-key", SALT_KEY))["LiteLLM_VerificationToken"] == (0, 0, 8, 2)


@pytest.mark.skipif(not settings.REDIS_URL, reason="embedded, each process keeps its own budget counters: a spend "
                                                    "written by another process reaches a running gateway through Redis")
def test_a_re_imported_spend_reaches_the_running_gateways_counters(imported: Report, source: SourceDatabase,
                                                                   example_models: None, gateway: GatewayProcess) -> None:
    with client(gateway, SECRETS["alice"]) as http:
        assert chat(http, "gpt-4o-mini").status_code == 200
        source.update("LiteLLM_VerificationToken", {"token": token_hash(SECRETS["alice"])}, spend=10.5)
        assert counts(run_import(source, "--salt-key", SALT_KEY))["LiteLLM_VerificationToken"][1] == 1
        assert chat(http, "gpt-4o-mini").json()["error"] == {
            "message": "Budget has been exceeded! Key=alice-laptop Current cost: 10.5, Max budget: 10",
            "type": "budget_exceeded", "param": "key", "code": "400"}


def test_the_salt_key_and_database_url_may_come_from_litellms_environment(
        transactional_db: None, source: SourceDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_DATABASE_URL", source.url)
    monkeypatch.setenv("LITELLM_MASTER_KEY", SALT_KEY)  # LiteLLM encrypts with its master key when no salt key is set
    out = StringIO()
    call_command("import_litellm", "--json", stdout=out)
    assert json.loads(out.getvalue())["LiteLLM_ProxyModelTable"]["created"] == 3
    monkeypatch.delenv("LITELLM_DATABASE_URL")
    with pytest.raises(CommandError, match=r"^--database-url \(or LITELLM_DATABASE_URL\) is required$"):
        call_command("import_litellm")


def test_a_litellm_script_reads_the_imported_rows_back(imported: Report, http: httpx.Client) -> None:
    key = http.get("/key/info", params={"key": SECRETS["alice"]})
    assert key.status_code == 200
    info = key.json()["info"]
    assert {name: info[name] for name in ("key_alias", "key_name", "team_id", "user_id", "models", "max_budget", "spend",
                                          "aliases", "budget_duration", "blocked")} == {
        "key_alias": "alice-laptop", "key_name": "sk-...0001", "team_id": "engineering", "user_id": "alice",
        "models": ["gpt-4o-mini"], "max_budget": 10.0, "spend": 0.5, "aliases": {"gpt-4": "gpt-4o-mini"},
        "budget_duration": "1d", "blocked": False}
    team = http.get("/team/info", params={"team_id": "engineering"}).json()
    assert (team["team_id"], team["team_info"]["team_alias"], team["team_info"]["organization_id"]) == (
        "engineering", "Engineering", ORG_ID)
    assert sorted((m["user_id"], m["role"]) for m in team["team_info"]["members_with_roles"]) == sorted(
        [("alice", "admin"), (BOB_ID, "user")])
    user = http.get("/user/info", params={"user_id": BOB_ID}).json()
    assert (user["user_id"], user["user_info"]["user_role"], sorted(team["team_id"] for team in user["teams"])) == (
        BOB_ID, "internal_user_viewer", sorted(["engineering", RESEARCH_ID]))
    assert sorted(key["key_name"] for key in user["keys"]) == sorted(
        f"sk-...{SECRETS[name][-4:]}" for name in ("blocked", "spent", "expired", "research"))
