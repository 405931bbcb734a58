from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.credits.models import IssuanceStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0016_credit_projects_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IssuanceRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('project', fields.ForeignKeyField('tanpuhui.CreditProject', source_field='project_id', db_constraint=True, to_field='id', related_name='issuance_requests', on_delete=OnDelete.RESTRICT)),
                ('owner_id', fields.UUIDField()),
                ('period_start', fields.CharField(max_length=10)),
                ('period_end', fields.CharField(max_length=10)),
                ('quantity_kg', fields.BigIntField()),
                ('reserved_grams', fields.BigIntField(default=0)),
                ('evidence', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(description='SUBMITTED: SUBMITTED\nVERIFIED: VERIFIED\nREVIEWED: REVIEWED\nPUBLIC_NOTICE: PUBLIC_NOTICE\nISSUED: ISSUED\nREJECTED: REJECTED', enum_type=IssuanceStatus, max_length=14)),
                ('notice_start', fields.CharField(null=True, max_length=10)),
                ('notice_end', fields.CharField(null=True, max_length=10)),
                ('serial_start', fields.BigIntField(null=True)),
                ('serial_end', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('issued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_issuance_request', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Credits asked for one monitoring period of a project (whole kg). Reserved behaviour records'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IssuanceEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('tanpuhui.IssuanceRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('event', fields.CharField(max_length=30)),
                ('actor', fields.CharField(max_length=80)),
                ('comment', fields.CharField(null=True, max_length=2000)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_issuance_event', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Every step of an issuance request, who took it and their comment (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Objection',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('request', fields.ForeignKeyField('tanpuhui.IssuanceRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='objections', on_delete=OnDelete.RESTRICT)),
                ('text', fields.CharField(max_length=2000)),
                ('filed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolution', fields.CharField(null=True, max_length=2000)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_objection', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'An objection filed during a public notice. Issuance waits until the authority resolves it.'},
            bases=['Model'],
        ),
    ]
