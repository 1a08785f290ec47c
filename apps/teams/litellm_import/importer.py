"""The teams side of an import: every LiteLLM table of people, budgets, keys and spend, in dependency order."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from django.db import transaction

from apps.core.snapshots import snapshot_bump
from apps.teams.litellm_import import mappers
from apps.teams.litellm_import.keys import write_key
from apps.teams.litellm_import.reader import TABLES, LiteLLMReader, Row
from apps.teams.litellm_import.report import ImportReport, TableReport
from apps.teams.litellm_import.spend import write_spend_logs
from apps.teams.litellm_import.writer import (
    Imported, Skip, write_budget, write_end_user, write_listed_members, write_organization,
    write_organization_membership, write_team, write_team_membership, write_user)
from apps.teams.snapshot import GENERATION

T = TypeVar("T")


def row_id(table: str, row: Row) -> str:
    """How the report names a row: its primary key (a key's hash shortened, never a token that is not a hash)."""
    if table == "LiteLLM_VerificationToken":
        token = str(row.get("token"))
        shown = token[:12] if mappers.SHA256_HEX.match(token) else "not a hash"
        return f"{row.get('key_alias') or row.get('key_name') or 'key'} ({shown})"
    return "/".join(str(row.get(column)) for column in TABLES[table])


def mapped(reader: LiteLLMReader, table: str, mapper: Callable[[Row], T], report: TableReport) -> Iterator[T]:
    """The table's rows as typed values; a row the mapper refuses is reported as skipped."""
    for row in reader.rows(table):
        try:
            yield mapper(row)
        except mappers.RowSkipped as exc:
            report.skip(row_id(table, row), str(exc))


def _each(reader: LiteLLMReader, report: ImportReport, table: str, mapper: Callable[[Row], T],
          write: Callable[[T, Imported, TableReport], None], done: Imported) -> list[T]:
    """Map and write every row of `table` (a row that refers to something missing is skipped with the reason);
    returns every row that mapped, written or not."""
    table_report = report.table(table)
    values = []
    for raw in reader.rows(table):
        try:
            value = mapper(raw)
            values.append(value)
            write(value, done, table_report)
        except (mappers.RowSkipped, Skip) as exc:
            table_report.skip(row_id(table, raw), str(exc))
    return values


def teams_import(*, reader: LiteLLMReader, report: ImportReport) -> None:
    """Bring budgets, organizations, users, teams, memberships, end users, keys and spend logs over, in one transaction."""
    done = Imported()
    with transaction.atomic():
        # Rows that only hold what teams, keys, users and organizations point to: read, not written, not reported.
        done.model_aliases = {value.id: value.aliases for value in mapped(
            reader, "LiteLLM_ModelTable", mappers.map_model_aliases, TableReport("LiteLLM_ModelTable"))}
        done.permissions = {value.object_permission_id: value.permission for value in mapped(
            reader, "LiteLLM_ObjectPermissionTable", mappers.map_object_permission,
            TableReport("LiteLLM_ObjectPermissionTable"))}
        _each(reader, report, "LiteLLM_BudgetTable", mappers.map_budget, write_budget, done)
        _each(reader, report, "LiteLLM_OrganizationTable", mappers.map_organization, write_organization, done)
        _each(reader, report, "LiteLLM_UserTable", mappers.map_user, write_user, done)
        _each(reader, report, "LiteLLM_TeamTable", mappers.map_team, write_team, done)
        members = _each(reader, report, "LiteLLM_TeamMembership", mappers.map_team_membership,
                        write_team_membership, done)
        write_listed_members({(member.team_id, member.user_id) for member in members}, done,
                             report.table("LiteLLM_TeamMembership"))
        _each(reader, report, "LiteLLM_OrganizationMembership", mappers.map_organization_membership,
              write_organization_membership, done)
        _each(reader, report, "LiteLLM_EndUserTable", mappers.map_end_user, write_end_user, done)
        _each(reader, report, "LiteLLM_VerificationToken", mappers.map_key, write_key, done)
        spend = report.table("LiteLLM_SpendLogs")
        write_spend_logs(mapped(reader, "LiteLLM_SpendLogs", mappers.map_spend, spend), spend)
        if report.changed:
            transaction.on_commit(lambda: snapshot_bump(GENERATION))
