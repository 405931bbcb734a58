from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.credits.models import BlockStatus
from backend.market.models import CallbackOutcome, ListingCurrency, ListingStatus, OrderStatus, SandboxPaymentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0024_credit_exports_settle_once')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditListing',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('seller_id', fields.UUIDField(db_index=True)),
                ('seller_kind', fields.CharField(max_length=20)),
                ('currency', fields.CharEnumField(description='FEN: FEN\nPOINTS: POINTS', enum_type=ListingCurrency, max_length=10)),
                ('price_fen_per_kg', fields.BigIntField(null=True)),
                ('listed_kg', fields.BigIntField()),
                ('available_kg', fields.BigIntField()),
                ('status', fields.CharEnumField(description='ACTIVE: ACTIVE\nWITHDRAWN: WITHDRAWN', enum_type=ListingStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_listing', 'app': 'tanpuhui', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Units a holder offers for sale. Its units are LISTED blocks carrying its id (frozen for the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('listing', fields.ForeignKeyField('tanpuhui.CreditListing', source_field='listing_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('buyer_id', fields.UUIDField(db_index=True)),
                ('buyer_kind', fields.CharField(max_length=20)),
                ('seller_id', fields.UUIDField(db_index=True)),
                ('quantity_kg', fields.BigIntField()),
                ('currency', fields.CharEnumField(description='FEN: FEN\nPOINTS: POINTS', enum_type=ListingCurrency, max_length=10)),
                ('amount', fields.BigIntField()),
                ('status', fields.CharEnumField(description='PENDING_PAYMENT: PENDING_PAYMENT\nPAID: PAID\nEXPIRED: EXPIRED\nREFUNDING: REFUNDING\nREFUNDED: REFUNDED', enum_type=OrderStatus, max_length=20)),
                ('provider', fields.CharField(null=True, max_length=20)),
                ('payment_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('pay_url', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'credit_order', 'app': 'tanpuhui', 'indexes': [Index(fields=['status', 'expires_at'])], 'pk_attr': 'id', 'table_description': "A buyer's order for units of a listing. Paid in fen through the provider, or in points (then"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentCallback',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=20)),
                ('event_id', fields.CharField(null=True, max_length=64)),
                ('event_type', fields.CharField(null=True, max_length=40)),
                ('order_id', fields.BigIntField(null=True, db_index=True)),
                ('outcome', fields.CharEnumField(description='APPLIED: APPLIED\nDUPLICATE: DUPLICATE\nBAD_SIGNATURE: BAD_SIGNATURE\nMALFORMED: MALFORMED\nUNKNOWN_ORDER: UNKNOWN_ORDER\nWRONG_AMOUNT: WRONG_AMOUNT\nWRONG_PAYMENT: WRONG_PAYMENT\nLATE: LATE\nOUT_OF_ORDER: OUT_OF_ORDER', enum_type=CallbackOutcome, max_length=20)),
                ('detail', fields.CharField(null=True, max_length=200)),
                ('body_sha256', fields.CharField(max_length=64)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_callback', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Every callback the payment provider (or anyone) sent, with what it did (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentMismatch',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.CharField(max_length=10)),
                ('provider', fields.CharField(max_length=20)),
                ('payment_id', fields.CharField(default='', max_length=64)),
                ('order_number', fields.CharField(default='', max_length=36)),
                ('problem', fields.CharField(max_length=200)),
                ('found_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_mismatch', 'app': 'tanpuhui', 'unique_together': (('day', 'provider', 'payment_id', 'order_number', 'problem'),), 'pk_attr': 'id', 'table_description': "What the daily reconciliation found between our orders and the provider's records."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsPerKg',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('points_per_kg', fields.BigIntField()),
                ('effective_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('set_by', fields.CharField(max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'points_per_kg', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Points per kg of credit when points buy units, from an effective time on (append-only).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReconciliationRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.CharField(max_length=10)),
                ('provider', fields.CharField(max_length=20)),
                ('mismatches', fields.IntField()),
                ('ran_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_reconciliation', 'app': 'tanpuhui', 'unique_together': (('day', 'provider'),), 'pk_attr': 'id', 'table_description': "One reconciliation of a day's payments with one provider (it runs once per day)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SandboxPayment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('payment_id', fields.CharField(unique=True, max_length=64)),
                ('order_number', fields.CharField(max_length=36)),
                ('amount_fen', fields.BigIntField()),
                ('description', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(description='CREATED: CREATED\nSUCCEEDED: SUCCEEDED\nREFUNDED: REFUNDED', enum_type=SandboxPaymentStatus, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('refunded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sandbox_payment', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': "The sandbox provider's own book of payments (what a real provider keeps on its side)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SellerProceeds',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller_id', fields.UUIDField(db_index=True)),
                ('order', fields.ForeignKeyField('tanpuhui.CreditOrder', source_field='order_id', db_constraint=True, to_field='id', related_name='proceeds', on_delete=OnDelete.RESTRICT)),
                ('amount_fen', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'seller_proceeds', 'app': 'tanpuhui', 'unique_together': (('seller_id', 'order_id', 'amount_fen'),), 'pk_attr': 'id', 'table_description': "A seller's proceeds in fen: + when an order is paid, - when it is refunded (append-only)."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='CreditBlock',
            name='status',
            field=fields.CharEnumField(description='HELD: HELD\nLISTED: LISTED\nLOCKED: LOCKED\nRETIRED: RETIRED\nEXPORTING: EXPORTING\nEXPORTED: EXPORTED', enum_type=BlockStatus, max_length=10),
        ),
        ops.AddField(
            model_name='CreditBlock',
            name='listing_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='CreditBlock',
            name='order_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
    ]
