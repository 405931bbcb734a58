from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.rewards.models import OfferStatus, UnusedPolicy, VoucherStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0012_ledger_balance_per_statement')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Offer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('merchant_id', fields.UUIDField(db_index=True)),
                ('title_zh', fields.CharField(max_length=200)),
                ('title_en', fields.CharField(max_length=200)),
                ('description_zh', fields.TextField(unique=False)),
                ('description_en', fields.TextField(unique=False)),
                ('image_url', fields.CharField(null=True, max_length=500)),
                ('category', fields.CharField(max_length=40)),
                ('price_points', fields.BigIntField()),
                ('total_stock', fields.IntField()),
                ('stock_left', fields.IntField()),
                ('per_person_limit', fields.IntField()),
                ('redeem_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('redeem_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('voucher_valid_days', fields.IntField()),
                ('unused_policy', fields.CharEnumField(description='REFUND: REFUND\nFORFEIT: FORFEIT', enum_type=UnusedPolicy, max_length=10)),
                ('status', fields.CharEnumField(description='DRAFT: DRAFT\nACTIVE: ACTIVE\nPAUSED: PAUSED\nENDED: ENDED', enum_type=OfferStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reward_offer', 'app': 'tanpuhui', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Voucher',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('offer', fields.ForeignKeyField('tanpuhui.Offer', source_field='offer_id', db_constraint=True, to_field='id', related_name='vouchers', on_delete=OnDelete.RESTRICT)),
                ('merchant_id', fields.UUIDField()),
                ('owner_id', fields.UUIDField()),
                ('owner_kind', fields.CharField(max_length=12)),
                ('hold_id', fields.UUIDField()),
                ('code', fields.CharField(unique=True, max_length=12)),
                ('points', fields.BigIntField()),
                ('status', fields.CharEnumField(description='ISSUED: ISSUED\nCONFIRMED: CONFIRMED\nCANCELLED: CANCELLED\nEXPIRED: EXPIRED', enum_type=VoucherStatus, max_length=10)),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('request_hash', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('confirmed_by', fields.CharField(null=True, max_length=80)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reward_voucher', 'app': 'tanpuhui', 'unique_together': (('owner_id', 'idempotency_key'),), 'indexes': [Index(fields=['owner_id', 'offer_id', 'status']), Index(fields=['merchant_id', 'confirmed_at']), Index(fields=['status', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'One redemption: the points held until a cashier of the merchant confirms (burned) or the'},
            bases=['Model'],
        ),
    ]
