# Secret-named settings sealed at rest (apps/core/secret_params.py): the column type is unchanged, the rows stored
# before are rewritten sealed.

import apps.core.secret_params
from django.db import migrations

from apps.core.secret_params import reseal_migration


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0002_push_delivery'),
    ]

    operations = [
        migrations.AlterField(
            model_name='agent',
            name='litellm_params',
            field=apps.core.secret_params.SealedJSONField(blank=True, default=dict, help_text='hosted: model, system_prompt, tools; remote: api_base'),
        ),
        migrations.AlterField(
            model_name='agentpushconfig',
            name='config',
            field=apps.core.secret_params.SealedJSONField(default=dict),
        ),
        migrations.AlterField(
            model_name='agentpushdelivery',
            name='headers',
            field=apps.core.secret_params.SealedJSONField(default=dict),
        ),
        reseal_migration(("agents", "Agent", "litellm_params"), ("agents", "AgentPushConfig", "config"),
                         ("agents", "AgentPushDelivery", "headers")),
    ]
