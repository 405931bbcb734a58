from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.accounts.models import MembershipStatus, OrganisationKind, OrganisationStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0002_audit_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Organisation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('kind', fields.CharEnumField(description='AUTHORITY: AUTHORITY\nSMALL_BUSINESS: SMALL_BUSINESS\nMERCHANT: MERCHANT\nDATA_PLATFORM: DATA_PLATFORM\nVERIFIER: VERIFIER\nHOUSEHOLD: HOUSEHOLD', enum_type=OrganisationKind, max_length=20)),
                ('name', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(default=OrganisationStatus.ACTIVE, description='ACTIVE: ACTIVE\nSUSPENDED: SUSPENDED', enum_type=OrganisationStatus, max_length=12)),
                ('suspended_reason', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'organisation', 'app': 'tanpuhui', 'indexes': [Index(fields=['kind', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('phone', fields.CharField(unique=True, max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('totp_secret', fields.CharField(null=True, max_length=64)),
                ('totp_confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'person', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Anyone who logs in by phone: a citizen, and possibly a member of organisations.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('organisation', fields.ForeignKeyField('tanpuhui.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('person', fields.ForeignKeyField('tanpuhui.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharField(max_length=20)),
                ('status', fields.CharEnumField(description='INVITED: INVITED\nACTIVE: ACTIVE\nREMOVED: REMOVED', enum_type=MembershipStatus, max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'membership', 'app': 'tanpuhui', 'unique_together': (('organisation', 'person'),), 'pk_attr': 'id', 'table_description': "A person's role in an organisation or household: invited, then accepted."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlatformCredential',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('tanpuhui.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='credentials', on_delete=OnDelete.RESTRICT)),
                ('client_id', fields.CharField(unique=True, max_length=40)),
                ('secret_hash', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'platform_credential', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': "A data platform's OAuth2 client: the secret is shown once and stored as sha256."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('person', fields.ForeignKeyField('tanpuhui.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.RESTRICT)),
                ('membership', fields.ForeignKeyField('tanpuhui.Membership', source_field='membership_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.RESTRICT)),
                ('second_factor', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.CharField(null=True, max_length=40)),
            ],
            options={'table': 'session', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A login on one device: a family of rotating refresh tokens (its public id is the `sid`).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('tanpuhui.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.RESTRICT)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_token', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Opaque, only its sha256 is stored. Rotated on use: a reused one revokes its session.'},
            bases=['Model'],
        ),
    ]
