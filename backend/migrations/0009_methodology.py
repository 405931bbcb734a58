from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.methodology.models import MethodologyStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0008_ledger_balance_check_once')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EarningRatio',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('points_per_gram', fields.DecimalField(max_digits=12, decimal_places=6)),
                ('effective_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('set_by', fields.CharField(max_length=80)),
            ],
            options={'table': 'earning_ratio', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Points per gram of CO2e earned, from an effective time on (append-only, never rewritten).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Methodology',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('code', fields.CharField(max_length=40)),
                ('version', fields.IntField()),
                ('name_zh', fields.CharField(max_length=200)),
                ('name_en', fields.CharField(max_length=200)),
                ('unit', fields.CharField(max_length=20)),
                ('baseline_factor', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('project_factor', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('status', fields.CharEnumField(description='DRAFT: DRAFT\nUNDER_REVIEW: UNDER_REVIEW\nREGISTERED: REGISTERED\nRETIRED: RETIRED', enum_type=MethodologyStatus, max_length=14)),
                ('effective_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('retired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'methodology', 'app': 'tanpuhui', 'unique_together': (('code', 'version'),), 'pk_attr': 'id', 'table_description': 'One version of a methodology: the reduction per unit of activity is the baseline emission'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MethodologyEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('methodology', fields.ForeignKeyField('tanpuhui.Methodology', source_field='methodology_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('event', fields.CharField(max_length=20)),
                ('comment', fields.CharField(null=True, max_length=2000)),
                ('actor', fields.CharField(max_length=80)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'methodology_event', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': "Every step of a methodology's lifecycle, with the expert's comment (append-only)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Scenario',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('code', fields.CharField(unique=True, max_length=40)),
                ('name_zh', fields.CharField(max_length=200)),
                ('name_en', fields.CharField(max_length=200)),
                ('methodology_code', fields.CharField(max_length=40)),
                ('category', fields.CharField(max_length=30)),
                ('max_quantity_per_record', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('daily_cap_grams', fields.BigIntField()),
                ('allowed_platforms', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'scenario', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'One kind of behaviour, computed by a methodology (by code, at the version in force).'},
            bases=['Model'],
        ),
    ]
