"""The LiteLLM reader and mappers on a database made from our DDL of schema.prisma, filled as LiteLLM fills it."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from apps.teams.litellm_import import mappers
from apps.teams.litellm_import.reader import TABLES, SourceError, litellm_reader
from apps.teams.litellm_import.records import Limits, TeamMember
from tests.teams.litellm_source import BOB_ID, NOW, ORG_ID, SECRETS, SourceDatabase, fill_install, litellm_database, token_hash

AWARE_NOW = NOW.replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def source() -> Iterator[SourceDatabase]:
    with litellm_database() as db:
        fill_install(db)
        yield db


def test_reader_reads_every_table_in_key_order(source: SourceDatabase) -> None:
    with litellm_reader(source.url) as reader:
        counts = {table: len(list(reader.rows(table))) for table in TABLES}
        users = [row["user_id"] for row in reader.rows("LiteLLM_UserTable")]
    assert counts == {"LiteLLM_ModelTable": 1, "LiteLLM_ObjectPermissionTable": 1, "LiteLLM_BudgetTable": 4, "LiteLLM_OrganizationTable": 1, "LiteLLM_UserTable": 3,
                      "LiteLLM_TeamTable": 2, "LiteLLM_TeamMembership": 3, "LiteLLM_OrganizationMembership": 2,
                      "LiteLLM_EndUserTable": 2, "LiteLLM_VerificationToken": 7, "LiteLLM_SpendLogs": 3,
                      "LiteLLM_ProxyModelTable": 4}
    assert users == sorted(["default_user_id", "alice", BOB_ID])


def test_reader_is_read_only(source: SourceDatabase) -> None:
    with litellm_reader(source.url) as reader, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        reader._conn.execute('DELETE FROM "LiteLLM_SpendLogs"')


def test_reader_names_why_it_cannot_connect() -> None:
    with pytest.raises(SourceError, match="^cannot connect to the LiteLLM database: .*litellm_src_absent"):
        with litellm_reader("postgres://postgres:hunter2@127.0.0.1:5432/litellm_src_absent"):
            pass


def test_a_missing_table_reads_as_empty(source: SourceDatabase) -> None:
    source.conn.execute('ALTER TABLE "LiteLLM_EndUserTable" RENAME TO "Renamed_EndUserTable"')
    try:
        with litellm_reader(source.url) as reader:
            assert not reader.has("LiteLLM_EndUserTable")
            assert list(reader.rows("LiteLLM_EndUserTable")) == []
    finally:
        source.conn.execute('ALTER TABLE "Renamed_EndUserTable" RENAME TO "LiteLLM_EndUserTable"')


def rows(source: SourceDatabase, table: str) -> list[dict[str, object]]:
    with litellm_reader(source.url) as reader:
        return list(reader.rows(table))


def test_key_row_maps_to_exact_values(source: SourceDatabase) -> None:
    row = next(r for r in rows(source, "LiteLLM_VerificationToken") if r["key_alias"] == "alice-laptop")
    key = mappers.map_key(row)
    assert key.token_hash == token_hash(SECRETS["alice"])
    assert (key.key_name, key.user_id, key.team_id, key.organization_id) == ("sk-...0001", "alice", "engineering", ORG_ID)
    assert key.limits == Limits(max_budget=Decimal("10.0000000000"), budget_duration="1d",
                                budget_reset_at=AWARE_NOW + timedelta(hours=5), rpm_limit=60, tpm_limit=5000,
                                max_parallel_requests=2)
    assert (key.spend, key.expires, key.blocked) == (Decimal("0.5"), AWARE_NOW + timedelta(days=3650), False)
    assert (key.models, key.aliases, key.tags, key.allowed_routes) == (
        ("gpt-4o-mini",), {"gpt-4": "gpt-4o-mini"}, ("laptop",), ("llm_api_routes",))
    assert key.model_max_budget == {"gpt-4o-mini": {"budget_limit": 2.0, "time_period": "1d"}}


def test_a_key_stored_in_plain_text_is_skipped() -> None:
    with pytest.raises(mappers.RowSkipped, match="^token is not a SHA-256 hex digest$"):
        mappers.map_key({"token": "sk-plaintext-secret"})


def test_team_row_maps_members_and_member_budget(source: SourceDatabase) -> None:
    team = mappers.map_team(next(r for r in rows(source, "LiteLLM_TeamTable") if r["team_id"] == "engineering"))
    assert team.members == (TeamMember("alice", "admin"), TeamMember(BOB_ID, "user"))
    assert (team.member_budget_id, team.organization_id, team.blocked, team.spend) == (
        "budget-member-eng", ORG_ID, False, Decimal("3.25"))
    assert team.limits.max_budget == Decimal("100") and team.limits.soft_budget == Decimal("80")


def test_spend_row_maps_litellm_call_types_and_usage(source: SourceDatabase) -> None:
    spend = {s.request_id: s for s in map(mappers.map_spend, rows(source, "LiteLLM_SpendLogs"))}
    chat, embedding, failed = spend["chatcmpl-0001"], spend["emb-0002"], spend["chatcmpl-0003"]
    assert (chat.call_type, chat.cost, chat.prompt_tokens, chat.completion_tokens, chat.cached_tokens) == (
        "chat", Decimal("0.000425"), 12, 30, 4)
    assert (chat.first_token_time, chat.end_user, chat.tags, chat.provider) == (
        AWARE_NOW + timedelta(milliseconds=200), "customer-42", ("laptop",), "openai")
    assert (embedding.call_type, embedding.end_user) == ("embedding", None)
    assert (failed.status, failed.error_type) == ("failure", "RateLimitError")


def test_money_keeps_the_decimal_litellm_meant() -> None:
    assert mappers.money(0.1 + 0.2) == Decimal("0.3000000000")
    assert mappers.money(None) == Decimal("0")
    assert mappers.aware(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)


def test_limits_past_an_integer_column_are_held_at_its_largest() -> None:
    assert mappers.limits({"rpm_limit": 10**12, "tpm_limit": -1, "max_parallel_requests": 7}) == Limits(
        rpm_limit=2**31 - 1, tpm_limit=None, max_parallel_requests=7)
