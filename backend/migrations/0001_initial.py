from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_kind', fields.CharField(max_length=20)),
                ('actor_id', fields.CharField(null=True, max_length=64)),
                ('organisation_id', fields.CharField(null=True, max_length=64)),
                ('action', fields.CharField(max_length=80)),
                ('object_type', fields.CharField(max_length=40)),
                ('object_id', fields.CharField(max_length=64)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('request_id', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'tanpuhui', 'indexes': [Index(fields=['object_type', 'object_id', 'occurred_at']), Index(fields=['occurred_at', 'public_id'])], 'pk_attr': 'id', 'table_description': 'Append-only: PostgreSQL refuses UPDATE and DELETE on this table (migration 0001).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=80)),
                ('key', fields.CharField(max_length=128)),
                ('operation', fields.CharField(max_length=80)),
                ('request_hash', fields.CharField(max_length=64)),
                ('response', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_key', 'app': 'tanpuhui', 'unique_together': (('owner', 'key'),), 'pk_attr': 'id', 'table_description': 'A claimed idempotency key and the answer of the request that claimed it (RELIABILITY.md 5).'},
            bases=['Model'],
        ),
    ]
