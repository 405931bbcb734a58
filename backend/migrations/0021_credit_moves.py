from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.credits.models import RetirementPurpose
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0020_credit_blocks_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditRetirement',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('block', fields.ForeignKeyField('tanpuhui.CreditBlock', source_field='block_id', db_constraint=True, to_field='id', related_name='retirements', on_delete=OnDelete.RESTRICT)),
                ('beneficiary', fields.CharField(null=True, max_length=200)),
                ('purpose', fields.CharEnumField(description='VOLUNTARY: VOLUNTARY\nCARBON_NEUTRALITY: CARBON_NEUTRALITY\nCOMPLIANCE: COMPLIANCE', enum_type=RetirementPurpose, max_length=20)),
                ('retired_by', fields.UUIDField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_retirement', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A retirement (注销): the block it retired never moves again. Its number is public.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditTransfer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('block', fields.ForeignKeyField('tanpuhui.CreditBlock', source_field='block_id', db_constraint=True, to_field='id', related_name='transfers', on_delete=OnDelete.RESTRICT)),
                ('from_holder', fields.UUIDField()),
                ('to_holder', fields.UUIDField()),
                ('quantity_kg', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_transfer', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A transfer (转移) of a block from one holding account to another (append-only history).'},
            bases=['Model'],
        ),
    ]
