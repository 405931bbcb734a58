from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.credits.models import BlockStatus, ExportStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0022_credit_moves_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditExport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('block', fields.ForeignKeyField('tanpuhui.CreditBlock', source_field='block_id', db_constraint=True, to_field='id', related_name='exports', on_delete=OnDelete.RESTRICT)),
                ('from_holder', fields.UUIDField(db_index=True)),
                ('exchange', fields.CharField(max_length=20)),
                ('external_account', fields.CharField(max_length=40)),
                ('quantity_kg', fields.BigIntField()),
                ('serial_start', fields.BigIntField()),
                ('serial_end', fields.BigIntField()),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nCONFIRMED: CONFIRMED\nFAILED: FAILED', enum_type=ExportStatus, max_length=10)),
                ('reference', fields.CharField(null=True, max_length=100)),
                ('failure', fields.CharField(null=True, max_length=200)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_export', 'app': 'tanpuhui', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': 'An export (转出) of a block to a named account at the carbon trading platform. Its public id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='CreditBlock',
            name='status',
            field=fields.CharEnumField(description='HELD: HELD\nRETIRED: RETIRED\nEXPORTING: EXPORTING\nEXPORTED: EXPORTED', enum_type=BlockStatus, max_length=10),
        ),
    ]
