from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.certificates.models import CertificateStatus, ClaimKind, ClaimStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0026_market_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FootprintClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('owner_id', fields.UUIDField(db_index=True)),
                ('owner_kind', fields.CharField(max_length=20)),
                ('kind', fields.CharEnumField(description='ANNUAL: ANNUAL\nTRIP: TRIP\nEVENT: EVENT\nBUSINESS_YEAR: BUSINESS_YEAR', enum_type=ClaimKind, max_length=20)),
                ('title', fields.CharField(max_length=200)),
                ('items', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('declared_kg', fields.BigIntField(null=True)),
                ('evidence_url', fields.CharField(null=True, max_length=500)),
                ('evidence_sha256', fields.CharField(null=True, max_length=64)),
                ('total_g', fields.BigIntField()),
                ('total_kg', fields.BigIntField()),
                ('status', fields.CharEnumField(description='OPEN: OPEN\nAWAITING_ORDER: AWAITING_ORDER\nNEUTRALISED: NEUTRALISED', enum_type=ClaimStatus, max_length=20)),
                ('order_id', fields.BigIntField(null=True, db_index=True)),
                ('display_name', fields.CharField(null=True, max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'footprint_claim', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A footprint to neutralise: activity items times factors, or (a business) a declared total'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Certificate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.CharField(unique=True, max_length=20)),
                ('claim', fields.OneToOneField('tanpuhui.FootprintClaim', source_field='claim_id', db_constraint=True, to_field='id', related_name='certificate', on_delete=OnDelete.RESTRICT)),
                ('holder_id', fields.UUIDField(db_index=True)),
                ('display_name', fields.CharField(max_length=100)),
                ('total_kg', fields.BigIntField()),
                ('verification_code', fields.CharField(max_length=20)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(description='VALID: VALID\nREVOKED: REVOKED', enum_type=CertificateStatus, max_length=10)),
                ('revoked_reason', fields.CharField(null=True, max_length=500)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'carbon_certificate', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': "A carbon-neutrality certificate: its claim's kilograms retired for it. Its number and"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FootprintFactor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(max_length=40)),
                ('name_zh', fields.CharField(max_length=100)),
                ('name_en', fields.CharField(max_length=100)),
                ('unit', fields.CharField(max_length=20)),
                ('grams_per_unit', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('effective_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('set_by', fields.CharField(max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'footprint_factor', 'app': 'tanpuhui', 'indexes': [Index(fields=['code', 'effective_at'])], 'pk_attr': 'id', 'table_description': 'Grams of CO2e per unit of an activity, from an effective time on (append-only, versioned'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person_id', fields.UUIDField(unique=True)),
                ('alias', fields.CharField(max_length=40)),
                ('opted_in_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leaderboard_entry', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A citizen who opted in to the public leaderboard, under a pseudonym.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CreditRetirement',
            name='certificate_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
    ]
