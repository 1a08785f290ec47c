"""The tag grains' covering index: every read names a grain, a team ("" for all teams) and a bucket range."""
from __future__ import annotations

from django.db import migrations, models

from apps.core.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # the index is built concurrently: the roll-up keeps writing meanwhile

    dependencies = [("teams", "0014_spendtaggrain")]

    operations = [
        AddIndexConcurrently(
            model_name="spendtaggrain",
            index=models.Index(fields=["grain", "team_id", "bucket"], include=("tag", "cost", "requests"),
                               name="spendtaggrain_team_bucket"),
        ),
    ]
