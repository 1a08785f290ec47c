# Secret-named settings sealed at rest (apps/core/secret_params.py): the column type is unchanged, the rows stored
# before are rewritten sealed.

import apps.core.secret_params
from django.db import migrations

from apps.core.secret_params import reseal_migration


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0004_stored_response'),
    ]

    operations = [
        migrations.AlterField(
            model_name='deployment',
            name='litellm_params',
            field=apps.core.secret_params.SealedJSONField(blank=True, default=dict, help_text='Other provider parameters (region, project, headers...).'),
        ),
        migrations.AlterField(
            model_name='routersettings',
            name='settings',
            field=apps.core.secret_params.SealedJSONField(blank=True, default=dict, help_text='Remaining router and litellm settings.'),
        ),
        migrations.AlterField(
            model_name='searchtool',
            name='litellm_params',
            field=apps.core.secret_params.SealedJSONField(blank=True, default=dict, help_text='Other parameters (timeout, search_engine_id, input_cost_per_query...).'),
        ),
        reseal_migration(("routing", "Deployment", "litellm_params"), ("routing", "RouterSettings", "settings"),
                         ("routing", "SearchTool", "litellm_params")),
    ]
