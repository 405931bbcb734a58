from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.consent.models import GrantKind, GrantStatus, SubjectKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('tanpuhui', '0003_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentNotice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('purpose', fields.CharField(max_length=40)),
                ('version', fields.IntField()),
                ('kind', fields.CharEnumField(description='DATA: DATA\nDELEGATION: DELEGATION', enum_type=GrantKind, max_length=12)),
                ('categories', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('text_zh', fields.TextField(unique=False)),
                ('text_en', fields.TextField(unique=False)),
                ('sha256', fields.CharField(max_length=64)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consent_notice', 'app': 'tanpuhui', 'unique_together': (('purpose', 'version'),), 'pk_attr': 'id', 'table_description': 'A published consent text: versioned per purpose, never changed (append-only, hashed).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DataGrant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('subject_kind', fields.CharEnumField(description='PERSON: PERSON\nHOUSEHOLD: HOUSEHOLD\nBUSINESS: BUSINESS', enum_type=SubjectKind, max_length=12)),
                ('subject_id', fields.UUIDField()),
                ('platform_id', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='DATA: DATA\nDELEGATION: DELEGATION', enum_type=GrantKind, max_length=12)),
                ('purpose', fields.CharField(max_length=40)),
                ('categories', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('meter_accounts', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('notice', fields.ForeignKeyField('tanpuhui.ConsentNotice', source_field='notice_id', db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.RESTRICT)),
                ('notice_sha256', fields.CharField(max_length=64)),
                ('separate_consent', fields.BooleanField()),
                ('status', fields.CharEnumField(description='AUTHORISED: AUTHORISED\nWITHDRAWN: WITHDRAWN\nREVOKED: REVOKED\nEXPIRED: EXPIRED', enum_type=GrantStatus, max_length=12)),
                ('authorised_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_reason', fields.CharField(null=True, max_length=500)),
                ('collection_method', fields.CharField(max_length=40)),
                ('granted_by', fields.UUIDField()),
            ],
            options={'table': 'data_grant', 'app': 'tanpuhui', 'indexes': [Index(fields=['subject_id', 'platform_id', 'status']), Index(fields=['status', 'expires_at']), Index(fields=['platform_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One consent of a subject to one platform: its status changes only to a terminal one.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GrantEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('grant', fields.ForeignKeyField('tanpuhui.DataGrant', source_field='grant_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('subject_id', fields.UUIDField()),
                ('event', fields.CharField(max_length=20)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=80)),
                ('reason', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'grant_event', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'Every change of a grant, append-only (PostgreSQL refuses UPDATE and DELETE).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LinkCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('subject_kind', fields.CharEnumField(description='PERSON: PERSON\nHOUSEHOLD: HOUSEHOLD\nBUSINESS: BUSINESS', enum_type=SubjectKind, max_length=12)),
                ('subject_id', fields.UUIDField()),
                ('platform_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'link_code', 'app': 'tanpuhui', 'pk_attr': 'id', 'table_description': 'A one-time code our app shows, which the subject enters at the platform (hashed, 10 minutes).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LinkRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('platform_id', fields.BigIntField()),
                ('phone', fields.CharField(max_length=20)),
                ('status', fields.CharField(max_length=12)),
                ('subject_ref', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'link_request', 'app': 'tanpuhui', 'indexes': [Index(fields=['phone', 'status'])], 'pk_attr': 'id', 'table_description': 'A platform asks to link a number it knows, and the subject approves or declines in our app.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('person_id', fields.UUIDField()),
                ('kind', fields.CharField(max_length=40)),
                ('grant', fields.ForeignKeyField('tanpuhui.DataGrant', source_field='grant_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'tanpuhui', 'unique_together': (('person_id', 'grant', 'kind'),), 'pk_attr': 'id', 'table_description': 'Something the app lists for a person (a grant about to expire). Push can come later.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SubjectLink',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subject_kind', fields.CharEnumField(description='PERSON: PERSON\nHOUSEHOLD: HOUSEHOLD\nBUSINESS: BUSINESS', enum_type=SubjectKind, max_length=12)),
                ('subject_id', fields.UUIDField()),
                ('platform_id', fields.BigIntField()),
                ('subject_ref', fields.UUIDField()),
                ('linked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'subject_link', 'app': 'tanpuhui', 'unique_together': (('platform_id', 'subject_id'), ('platform_id', 'subject_ref')), 'pk_attr': 'id', 'table_description': 'The pseudonymous id (subject reference) a platform knows a subject by, one per pair.'},
            bases=['Model'],
        ),
    ]
