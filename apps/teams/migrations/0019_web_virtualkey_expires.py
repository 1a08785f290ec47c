"""The admin's "expired" filter reads an index of the keys that have an expiry (not a walk of every key)."""
from __future__ import annotations

from django.db import migrations, models

from apps.core.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # the index is built concurrently: keys keep being written meanwhile

    dependencies = [("teams", "0018_mgmt_deleted_key")]

    operations = [
        AddIndexConcurrently(
            model_name="virtualkey",
            index=models.Index(fields=["expires"], condition=models.Q(expires__isnull=False),
                               name="virtualkey_expires"),
        ),
    ]
