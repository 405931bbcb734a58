from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.credits.models import BlockStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0018_issuance_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditBlock',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('issuance', fields.ForeignKeyField('tanpuhui.IssuanceRequest', source_field='issuance_id', db_constraint=True, to_field='id', related_name='blocks', on_delete=OnDelete.RESTRICT)),
                ('project_number', fields.BigIntField()),
                ('vintage', fields.IntField()),
                ('serial_start', fields.BigIntField()),
                ('serial_end', fields.BigIntField()),
                ('holder_id', fields.UUIDField(db_index=True)),
                ('holder_kind', fields.CharField(max_length=20)),
                ('status', fields.CharEnumField(description='HELD: HELD\nRETIRED: RETIRED\nEXPORTED: EXPORTED', enum_type=BlockStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_block', 'app': 'tanpuhui', 'indexes': [Index(fields=['project_number', 'serial_start'])], 'pk_attr': 'id', 'table_description': 'A range of serial-numbered units (1 unit = 1 kg CO2e) of one issuance, owned by one holding'},
            bases=['Model'],
        ),
    ]
