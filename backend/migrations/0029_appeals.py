from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.supervision.models import AppealKind, AppealStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0028_person_deleted')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Appeal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('person_id', fields.UUIDField(db_index=True)),
                ('kind', fields.CharEnumField(description='REJECTION: REJECTION\nCLAWBACK: CLAWBACK', enum_type=AppealKind, max_length=12)),
                ('reference', fields.CharField(max_length=200)),
                ('text', fields.CharField(max_length=2000)),
                ('status', fields.CharEnumField(description='OPEN: OPEN\nUPHELD: UPHELD\nDISMISSED: DISMISSED', enum_type=AppealStatus, max_length=10)),
                ('answer', fields.CharField(null=True, max_length=2000)),
                ('answered_by', fields.CharField(null=True, max_length=80)),
                ('filed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'appeal', 'app': 'tanpuhui', 'indexes': [Index(fields=['status', 'filed_at'])], 'pk_attr': 'id', 'table_description': "An appeal and, once answered, the authority's answer (answered once)."},
            bases=['Model'],
        ),
    ]
