"""The tag roll-up's all-teams hourly grain and its daily grains (SpendTagGrain), as the spend roll-up has them.

Expand only: a new table, and a mark column with a database default, so the previous release keeps rolling up
and reading as before. Its cells are filled once from the hourly tag cells (not the spend rows, which retention
may have pruned) under the mark's lock (0015 then builds the readers' index concurrently); should the previous release roll up again afterwards (an upgrade's
overlap), `tag_grains_id` falls behind `last_id` and the next roll-up rebuilds them (apps/teams/rollup.py).
"""
from __future__ import annotations

from typing import Any

from django.db import migrations, models

GRAINS = {1: ("hour", "''"), 2: ("day", "team_id"), 3: ("day", "''")}  # ALL_TEAMS, TEAMS_DAILY, ALL_TEAMS_DAILY


def truncated(vendor: str, unit: str) -> str:
    if vendor == "postgresql":
        return f"date_trunc('{unit}', bucket)"
    return f"strftime('%Y-%m-%d {'%H' if unit == 'hour' else '00'}:00:00', bucket)"


def fill(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    SpendRollupMark = apps.get_model("teams", "SpendRollupMark")  # noqa: N806 (the model's name, as the linter asks)
    marks = list(SpendRollupMark.objects.select_for_update().all())  # the roll-up waits while the cells are made
    with connection.cursor() as cursor:
        for grain, (unit, team) in GRAINS.items():
            grouped = ", ".join(c for c in (truncated(connection.vendor, unit), team, "tag") if c != "''")
            cursor.execute(
                f"INSERT INTO teams_spendtaggrain (grain, bucket, team_id, tag, requests, cost) "
                f"SELECT {grain}, {truncated(connection.vendor, unit)}, {team}, tag, SUM(requests), SUM(cost) "
                f"FROM teams_spendtagrollup GROUP BY {grouped}")
    for mark in marks:
        mark.tag_grains_id = mark.last_id
        mark.save(update_fields=["tag_grains_id"])


def empty(apps: Any, schema_editor: Any) -> None:
    apps.get_model("teams", "SpendTagGrain").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("teams", "0013_spendtagrollup_bucket_cover")]

    operations = [
        migrations.AddField(model_name="spendrollupmark", name="tag_grains_id",
                            field=models.BigIntegerField(db_default=0, default=0)),
        migrations.CreateModel(
            name="SpendTagGrain",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("grain", models.PositiveSmallIntegerField()),
                ("bucket", models.DateTimeField()),
                ("team_id", models.CharField(blank=True, default="", max_length=200)),
                ("tag", models.CharField(max_length=200)),
                ("requests", models.BigIntegerField(default=0)),
                ("cost", models.DecimalField(decimal_places=10, default=0, max_digits=24)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("grain", "bucket", "team_id", "tag"),
                                                        name="spendtaggrain_unique_cell")],
            },
        ),
        migrations.RunPython(fill, empty),
    ]
