from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.ledger.models import AccountKind, HoldStatus, TransactionKind
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0005_consent_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Hold',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('account_id', fields.BigIntField()),
                ('owner_id', fields.UUIDField()),
                ('amount', fields.BigIntField()),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nPOSTED: POSTED\nVOIDED: VOIDED', enum_type=HoldStatus, max_length=10)),
                ('idempotency_key', fields.CharField(max_length=160)),
                ('request_hash', fields.CharField(max_length=64)),
                ('cause', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('transaction_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'ledger_hold', 'app': 'tanpuhui', 'unique_together': (('owner_id', 'idempotency_key'),), 'pk_attr': 'id', 'table_description': 'A pending spend (two-phase): posted (burned) or voided (back to its lots), exactly once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HoldPart',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('hold_id', fields.BigIntField(db_index=True)),
                ('lot_id', fields.BigIntField()),
                ('owner_id', fields.UUIDField()),
                ('amount', fields.BigIntField()),
            ],
            options={'table': 'ledger_hold_part', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'How much of a hold came from which lot, so a void returns it there.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerAccount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('kind', fields.CharEnumField(description='PERSON: PERSON\nHOUSEHOLD: HOUSEHOLD\nBUSINESS: BUSINESS\nISSUANCE: ISSUANCE\nEXPIRY: EXPIRY\nBURN: BURN\nCLAWBACK: CLAWBACK', enum_type=AccountKind, max_length=12)),
                ('owner_id', fields.UUIDField()),
                ('balance', fields.BigIntField(default=0)),
                ('held', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_account', 'app': 'tanpuhui', 'unique_together': (('owner_id', 'kind'),), 'pk_attr': 'id', 'table_description': 'Unique per (kind, owner): system accounts have fixed owner ids (migration 0007).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerTransaction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('kind', fields.CharEnumField(description='EARN: EARN\nSPEND: SPEND\nHOLD_POST: HOLD_POST\nEXPIRE: EXPIRE\nCLAWBACK: CLAWBACK', enum_type=TransactionKind, max_length=12)),
                ('owner_id', fields.UUIDField()),
                ('idempotency_key', fields.CharField(max_length=160)),
                ('request_hash', fields.CharField(max_length=64)),
                ('cause', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('parent_id', fields.BigIntField(null=True)),
                ('memo', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_transaction', 'app': 'tanpuhui', 'unique_together': (('owner_id', 'idempotency_key'),), 'indexes': [Index(fields=['owner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Append-only. Idempotent per (owner, key). A correction points to its parent.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('account_id', fields.BigIntField()),
                ('owner_id', fields.UUIDField()),
                ('earn_transaction_id', fields.BigIntField()),
                ('amount', fields.BigIntField()),
                ('remaining', fields.BigIntField()),
                ('earned_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('clawed_back_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_lot', 'app': 'tanpuhui', 'indexes': [Index(fields=['account_id', 'expires_at']), Index(fields=['expires_at'])], 'pk_attr': 'id', 'table_description': 'Points of one earning: `remaining` is still spendable, until `expires_at`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Posting',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('transaction_id', fields.BigIntField(db_index=True)),
                ('account_id', fields.BigIntField()),
                ('owner_id', fields.UUIDField()),
                ('amount', fields.BigIntField()),
                ('lot_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_posting', 'app': 'tanpuhui', 'indexes': [Index(fields=['account_id', 'created_at']), Index(fields=['lot_id'])], 'pk_attr': 'id', 'table_description': 'Append-only. Postings of a transaction sum to zero (checked by PostgreSQL at commit).'},
            bases=['Model'],
        ),
    ]
