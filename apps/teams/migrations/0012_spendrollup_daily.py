"""Daily cells of the all-teams and per-team roll-up grains (3 and 4), filled once from their hourly cells (not from
the spend rows, which retention may have pruned); the roll-up keeps both from then on."""
from __future__ import annotations

from typing import Any

from django.db import migrations

SUMS = ("requests", "failures", "refusals", "cost", "prompt_tokens", "completion_tokens", "latency_ms_sum",
        *(f"lat_{i}" for i in range(12)))
DAILY = {1: 3, 2: 4}  # SpendRollup.DEPLOYMENTS -> DEPLOYMENTS_DAILY, TEAMS -> TEAMS_DAILY


def day_of(vendor: str) -> str:
    return "date_trunc('day', bucket)" if vendor == "postgresql" else "strftime('%Y-%m-%d 00:00:00', bucket)"


def fill(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    SpendRollupMark = apps.get_model("teams", "SpendRollupMark")  # noqa: N806 (the model's name, as the linter asks)
    list(SpendRollupMark.objects.select_for_update().all())  # the roll-up waits: no hour is summed while the days are made
    columns = ", ".join(SUMS)
    sums = ", ".join(f"SUM({name})" for name in SUMS)
    with connection.cursor() as cursor:
        for hourly, daily in DAILY.items():
            cursor.execute(
                f"INSERT INTO teams_spendrollup (grain, bucket, team_id, model_alias, provider, deployment_id, {columns}) "
                f"SELECT {daily}, {day_of(connection.vendor)}, team_id, model_alias, provider, deployment_id, {sums} "
                f"FROM teams_spendrollup WHERE grain = {hourly} "
                f"GROUP BY {day_of(connection.vendor)}, team_id, model_alias, provider, deployment_id")


def empty(apps: Any, schema_editor: Any) -> None:
    SpendRollup = apps.get_model("teams", "SpendRollup")  # noqa: N806
    SpendRollup.objects.filter(grain__in=list(DAILY.values())).delete()


class Migration(migrations.Migration):
    dependencies = [("teams", "0011_virtualkey_window_due")]
    operations = [migrations.RunPython(fill, empty)]
