from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.credits.models import ProjectKind, ProjectStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0014_rewards_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.CharField(unique=True, max_length=10)),
                ('is_working', fields.BooleanField()),
                ('note', fields.CharField(max_length=200)),
                ('set_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'calendar_day', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'An exception to the Monday-to-Friday rule: a holiday, or a make-up workday (调休).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditProject',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('owner_id', fields.UUIDField(db_index=True)),
                ('kind', fields.CharEnumField(description='AGGREGATION: AGGREGATION\nOWN: OWN', enum_type=ProjectKind, max_length=12)),
                ('title_zh', fields.CharField(max_length=200)),
                ('title_en', fields.CharField(max_length=200)),
                ('description', fields.TextField(unique=False)),
                ('methodology_code', fields.CharField(max_length=40)),
                ('verifier_id', fields.UUIDField(null=True)),
                ('status', fields.CharEnumField(description='DRAFT: DRAFT\nSUBMITTED: SUBMITTED\nCHANGES_REQUESTED: CHANGES_REQUESTED\nVALIDATED: VALIDATED\nREGISTERED: REGISTERED\nREJECTED: REJECTED', enum_type=ProjectStatus, max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('registered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_project', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Its number (the row id) is public: serial numbers of its credits carry it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProjectDocument',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('tanpuhui.CreditProject', source_field='project_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=200)),
                ('url', fields.CharField(max_length=500)),
                ('sha256', fields.CharField(max_length=64)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_project_document', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A document the owner attached: where it is and the sha256 of its content.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProjectEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('tanpuhui.CreditProject', source_field='project_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('event', fields.CharField(max_length=30)),
                ('actor', fields.CharField(max_length=80)),
                ('comment', fields.CharField(null=True, max_length=2000)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_project_event', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Every step of a project, who took it and their comment (append-only).'},
            bases=['Model'],
        ),
    ]
