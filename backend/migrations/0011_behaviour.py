from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0010_methodology_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BehaviourRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('subject_id', fields.UUIDField()),
                ('platform_id', fields.BigIntField()),
                ('event_id', fields.CharField(max_length=100)),
                ('scenario_code', fields.CharField(max_length=40)),
                ('methodology_code', fields.CharField(max_length=40)),
                ('quantity', fields.DecimalField(max_digits=18, decimal_places=6)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('meter_account', fields.CharField(null=True, max_length=40)),
                ('grams', fields.BigIntField()),
                ('points', fields.BigIntField()),
                ('capped', fields.BooleanField()),
                ('earning_id', fields.UUIDField(null=True)),
                ('issuance_id', fields.BigIntField(null=True)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'behaviour_record', 'app': 'tanpuhui', 'unique_together': (('subject_id', 'platform_id', 'event_id'),), 'indexes': [Index(fields=['subject_id', 'occurred_at'])], 'pk_attr': 'id', 'table_description': 'An accepted record: what the computation and lineage need, nothing more. Unique per'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DailyTotal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subject_id', fields.UUIDField()),
                ('scenario_code', fields.CharField(max_length=40)),
                ('day', fields.CharField(max_length=10)),
                ('grams', fields.BigIntField(default=0)),
            ],
            options={'table': 'behaviour_daily_total', 'app': 'tanpuhui', 'unique_together': (('subject_id', 'scenario_code', 'day'),), 'pk_attr': 'id', 'table_description': 'Grams credited per subject, scenario and day in Asia/Shanghai (the daily cap).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutcomeCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform_id', fields.BigIntField()),
                ('day', fields.CharField(max_length=10)),
                ('code', fields.CharField(max_length=40)),
                ('count', fields.BigIntField(default=0)),
            ],
            options={'table': 'behaviour_outcome_count', 'app': 'tanpuhui', 'unique_together': (('platform_id', 'day', 'code'),), 'pk_attr': 'id', 'table_description': 'Records per platform, day (Shanghai) and outcome code: ACCEPTED, DUPLICATE or a rejection.'},
            bases=['Model'],
        ),
    ]
