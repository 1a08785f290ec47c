"""Migrations are expand-then-contract: a replica of the previous release keeps working on the new schema.

Two checks, both on PostgreSQL (the production database; SQLite is the single-process default and has no
rolling upgrades): django-migration-linter reads every migration's SQL for operations that break running code
or lock a busy table, and `previous_code_problems` uses the models of the state before each migration (what the
previous release's code is) on the newest schema. Migrations that predate the rule are listed with the reason.
"""
from __future__ import annotations

import pytest
from django.db import connection, transaction

from apps.core.migration_safety import previous_code_problems

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(
    connection.vendor != "postgresql", reason="rolling upgrades run on PostgreSQL; the embedded default is one process")]

OUR_APPS = ("core", "providers", "routing", "teams", "agents", "portal")

# Shipped before the rule: each broke the release before it, and upgrades across them stop the old replicas first.
# (The sealing of secret params, routing.0005 / teams.0016 / agents.0003, keeps the schema, so this check passes it;
# its data break, literal secrets an earlier release cannot read, is the README's second stop-first upgrade.)
CONTRACT_POINTS = {
    "teams": "0005_string_ids",  # integer ids became strings (LiteLLM's ids): no old replica can read them
}

# Linter findings accepted on migrations that have shipped, with why. New migrations get no entry here: they add
# nullable columns or ones with a database default, build indexes on existing tables concurrently
# (`apps.core.migration_ops.AddIndexConcurrently`, `AddConstraintConcurrently`), and drop a column one release after
# the code stops using it. The one exception is a finding the linter cannot judge, named with the reason.
LINT_ACCEPTED = {
    # ADD_UNIQUE: the per-owner alias indexes (built concurrently) are weaker than the global one they replace, which
    # still holds while they build: no row the previous release writes can break them.
    "teams.0017_mgmt_alias_per_owner": "unique indexes weaker than the one they replace; built concurrently",
    "teams.0002_spendlog_attempts": "NOT NULL + unique on the then-new attempt column; before the rule",
    "teams.0005_string_ids": "the id type change above",
    "routing.0003_search_tool": "an index on the small deployment table; before the rule",
    "teams.0008_dashboard_rollup": "spend-log indexes built under a lock; before the rule",
    "teams.0009_dashboard_rollup_cover": "spend-log index built under a lock; before the rule",
}


def lint(capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    from django_migration_linter import MigrationLinter

    linter = MigrationLinter(
        None, database="default", include_apps=OUR_APPS, no_cache=True, ignore_initial_migrations=True,
        analyser_string="postgresql", all_warnings_as_errors=True,
        ignore_name=[name.split(".", 1)[1] for name in LINT_ACCEPTED])
    linter.lint_all_migrations()
    linter.print_summary()
    return linter.has_errors, capsys.readouterr().out


@pytest.mark.django_db(transaction=True)  # sqlmigrate of a non-atomic (concurrent index) migration: no transaction
def test_no_migration_breaks_running_code_or_locks_a_busy_table(capsys: pytest.CaptureFixture[str]) -> None:
    failed, report = lint(capsys)
    assert not failed, report
    assert "Valid migrations" in report


def test_previous_release_models_work_on_the_newest_schema() -> None:
    problems = previous_code_problems(OUR_APPS, contract_points=CONTRACT_POINTS)
    assert problems == []


@pytest.mark.parametrize("ddl, model", [
    ("ALTER TABLE teams_team ADD COLUMN rollout_probe integer NOT NULL", "Team"),  # an expand done wrong
    ("ALTER TABLE teams_virtualkey DROP COLUMN key_alias", "VirtualKey"),  # a contract done too early
])
def test_the_check_finds_a_schema_change_older_code_cannot_live_with(ddl: str, model: str) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(ddl)
        problems = previous_code_problems(["teams"], contract_points=CONTRACT_POINTS)
        transaction.set_rollback(True)
    assert {p.model for p in problems} >= {model}
    assert all(p.migration > "teams.0005" for p in problems)
