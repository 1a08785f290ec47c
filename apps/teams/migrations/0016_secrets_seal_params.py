# Secret-named settings sealed at rest (apps/core/secret_params.py): the column type is unchanged, the rows stored
# before are rewritten sealed.

import apps.core.secret_params
from django.db import migrations

from apps.core.secret_params import reseal_migration


class Migration(migrations.Migration):

    dependencies = [
        ('teams', '0015_spendtaggrain_team_bucket'),
    ]

    operations = [
        migrations.AlterField(
            model_name='logcallback',
            name='params',
            field=apps.core.secret_params.SealedJSONField(blank=True, default=dict, help_text='Destination settings; secrets encrypted at rest, or os.environ/NAME references.'),
        ),
        reseal_migration(("teams", "LogCallback", "params")),
    ]
