"""String ids as LiteLLM's: `team_id`, `organization_id` (and `username` as `user_id`) become what every
foreign key, spend row and API answer holds, plus LiteLLM's budget, end-user and organization-member tables
and the key/team columns LiteLLM has.

Existing rows keep their integer primary key (admin URLs and ledger names do not change, so live
counters carry over) and get `team_id = str(pk)` / `organization_id = str(pk)`, so an integer foreign
key cast to text already names the right row. Foreign keys to users held the user's pk and now hold
the username: they are cast, rewritten from pk to username, and only then constrained again. Spend rows
get the same treatment, and keys' `metadata.tags` move to the new `tags` column.
"""

import apps.teams.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_ids(apps, schema_editor):
    """Existing teams and organizations are named by their old integer pk."""
    for name, field in (("Organization", "organization_id"), ("Team", "team_id")):
        model = apps.get_model("teams", name)
        for pk in model.objects.values_list("pk", flat=True):
            model.objects.filter(pk=pk).update(**{field: str(pk)})


def user_pk_to_username(model_name, column):
    """A step rewriting `column` (a user's pk cast to text) to that user's username, in one statement."""

    def run(apps, schema_editor):
        quote = schema_editor.connection.ops.quote_name
        table = quote(apps.get_model("teams", model_name)._meta.db_table)
        users = quote(apps.get_model("teams", "User")._meta.db_table)
        col = quote(column)
        schema_editor.execute(
            f"UPDATE {table} SET {col} = (SELECT u.username FROM {users} u WHERE CAST(u.id AS TEXT) = {table}.{col})"
            f" WHERE {col} IS NOT NULL")

    return run


def tags_to_column(apps, schema_editor):
    """Keys kept their tags in metadata["tags"]; they get a column of their own."""
    key_model = apps.get_model("teams", "VirtualKey")
    for key in key_model.objects.filter(metadata__has_key="tags"):
        tags = key.metadata.pop("tags") or []
        key.tags = [str(tag) for tag in tags] if isinstance(tags, list) else []
        key.save(update_fields=["tags", "metadata"])


class Migration(migrations.Migration):

    dependencies = [
        ('teams', '0003_spendlog_request_id_unique_index_only'),
    ]

    operations = [
        migrations.CreateModel(
            name='Budget',
            fields=[
                ('budget_id', models.CharField(default=apps.teams.models.new_id, max_length=200, primary_key=True, serialize=False)),
                ('max_budget', models.DecimalField(blank=True, decimal_places=10, max_digits=20, null=True)),
                ('soft_budget', models.DecimalField(blank=True, decimal_places=10, max_digits=20, null=True)),
                ('max_parallel_requests', models.PositiveIntegerField(blank=True, null=True)),
                ('tpm_limit', models.PositiveBigIntegerField(blank=True, null=True)),
                ('rpm_limit', models.PositiveBigIntegerField(blank=True, null=True)),
                ('model_max_budget', models.JSONField(blank=True, default=dict)),
                ('budget_duration', models.CharField(blank=True, max_length=20)),
                ('budget_reset_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.CharField(blank=True, max_length=200)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('updated_by', models.CharField(blank=True, max_length=200)),
            ],
        ),
        migrations.AddField(
            model_name='organization',
            name='created_by',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='organization',
            name='model_max_budget',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='organization',
            name='model_rpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='organization',
            name='model_spend',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='organization',
            name='model_tpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='organization',
            name='object_permission',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='organization',
            name='organization_id',
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='organization',
            name='updated_by',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='spendlog',
            name='end_user',
            field=models.CharField(blank=True, db_default='', max_length=200),
        ),
        migrations.AddField(
            model_name='team',
            name='allow_team_guardrail_config',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='team',
            name='allowed_passthrough_routes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='allowed_vector_store_indexes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='guardrails',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='model_aliases',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='model_max_budget',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='model_rpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='model_spend',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='model_tpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='object_permission',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='policies',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='prompts',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='router_settings',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='rpm_limit_type',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='team',
            name='secret_manager_settings',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='team',
            name='tags',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='team_id',
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.RunPython(fill_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='organization',
            name='organization_id',
            field=models.CharField(default=apps.teams.models.new_id, max_length=200, unique=True),
        ),
        migrations.AlterField(
            model_name='team',
            name='team_id',
            field=models.CharField(default=apps.teams.models.new_id, max_length=200, unique=True),
        ),
        migrations.AddField(
            model_name='team',
            name='team_member_budget_duration',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='team',
            name='team_member_key_duration',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='team',
            name='team_member_permissions',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='team',
            name='team_member_rpm_limit',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='team',
            name='team_member_tpm_limit',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='team',
            name='tpm_limit_type',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='user',
            name='allowed_cache_controls',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='user',
            name='model_max_budget',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='user',
            name='model_rpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='user',
            name='model_spend',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='user',
            name='model_tpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='user',
            name='object_permission',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='user',
            name='organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='users', to='teams.organization', to_field='organization_id'),
        ),
        migrations.AddField(
            model_name='user',
            name='policies',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='user',
            name='sso_user_id',
            field=models.CharField(blank=True, max_length=200, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='user',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name='user',
            name='user_alias',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='aliases',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='allowed_cache_controls',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='allowed_passthrough_routes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='allowed_routes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='allowed_vector_store_indexes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='auto_rotate',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='config',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='created_by',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='enforced_params',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='guardrails',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='key_rotation_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='key_type',
            field=models.CharField(default='default', max_length=20),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='last_rotation_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='model_max_budget',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='model_rpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='model_spend',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='model_tpm_limit',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='object_permission',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='keys', to='teams.organization', to_field='organization_id'),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='permissions',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='policies',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='prompts',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='rotation_count',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='rotation_interval',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='router_settings',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='rpm_limit_type',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='soft_budget_cooldown',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='tags',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='temp_budget_expiry',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='temp_budget_increase',
            field=models.DecimalField(blank=True, decimal_places=10, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='tpm_limit_type',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='updated_by',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='spendlog',
            name='organization_id',
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AlterField(
            model_name='spendlog',
            name='team_id',
            field=models.CharField(blank=True, db_index=True, max_length=200, null=True),
        ),
        migrations.AlterField(
            model_name='spendlog',
            name='user_id',
            field=models.CharField(blank=True, db_index=True, max_length=200, null=True),
        ),
        migrations.RunPython(user_pk_to_username('spendlog', 'user_id'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='team',
            name='organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='teams', to='teams.organization', to_field='organization_id'),
        ),
        migrations.AlterField(
            model_name='team',
            name='team_alias',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='teammembership',
            name='team',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='teams.team', to_field='team_id'),
        ),
        migrations.AlterField(
            model_name='teammembership',
            name='user',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL, to_field='username'),
        ),
        migrations.RunPython(user_pk_to_username('teammembership', 'user_id'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='teammembership',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL, to_field='username'),
        ),
        migrations.AlterField(
            model_name='virtualkey',
            name='team',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='keys', to='teams.team', to_field='team_id'),
        ),
        migrations.AlterField(
            model_name='virtualkey',
            name='user',
            field=models.ForeignKey(blank=True, null=True, db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='keys', to=settings.AUTH_USER_MODEL, to_field='username'),
        ),
        migrations.RunPython(user_pk_to_username('virtualkey', 'user_id'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='virtualkey',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='keys', to=settings.AUTH_USER_MODEL, to_field='username'),
        ),
        migrations.AddField(
            model_name='organization',
            name='budget',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='organizations', to='teams.budget'),
        ),
        migrations.AddField(
            model_name='teammembership',
            name='budget',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='team_members', to='teams.budget'),
        ),
        migrations.AddField(
            model_name='virtualkey',
            name='budget',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='keys', to='teams.budget'),
        ),
        migrations.CreateModel(
            name='EndUser',
            fields=[
                ('user_id', models.CharField(max_length=200, primary_key=True, serialize=False)),
                ('alias', models.CharField(blank=True, max_length=200)),
                ('spend', models.DecimalField(decimal_places=10, default=0, max_digits=20)),
                ('allowed_model_region', models.CharField(blank=True, choices=[('eu', 'eu'), ('us', 'us')], max_length=10)),
                ('default_model', models.CharField(blank=True, max_length=200)),
                ('blocked', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('budget', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='end_users', to='teams.budget')),
            ],
        ),
        migrations.CreateModel(
            name='OrganizationMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_role', models.CharField(choices=[('org_admin', 'organization admin'), ('internal_user', 'internal user'), ('internal_user_viewer', 'internal user viewer')], default='internal_user', max_length=30)),
                ('spend', models.DecimalField(decimal_places=10, default=0, max_digits=20)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('budget', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='organization_members', to='teams.budget')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='teams.organization', to_field='organization_id')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='organization_memberships', to=settings.AUTH_USER_MODEL, to_field='username')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('organization', 'user'), name='org_membership_unique')],
            },
        ),
        migrations.RunPython(tags_to_column, migrations.RunPython.noop),
    ]
