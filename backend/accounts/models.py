"""People, organisations, memberships, sessions and platform credentials."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OrganisationKind(StrEnum):
    AUTHORITY = "AUTHORITY"  # 主管部门 / 运营机构
    SMALL_BUSINESS = "SMALL_BUSINESS"  # 小微企业
    MERCHANT = "MERCHANT"  # 商户
    DATA_PLATFORM = "DATA_PLATFORM"  # 数据聚集平台
    VERIFIER = "VERIFIER"  # 第三方审定核查机构
    HOUSEHOLD = "HOUSEHOLD"  # 社区家庭


class OrganisationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class MembershipStatus(StrEnum):
    INVITED = "INVITED"
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


class Person(Model):
    """Anyone who logs in by phone: a citizen, and possibly a member of organisations."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    phone = fields.CharField(max_length=20, unique=True)
    created_at = fields.DatetimeField()
    last_login_at = fields.DatetimeField(null=True)
    totp_secret = fields.CharField(max_length=64, null=True)
    totp_confirmed_at = fields.DatetimeField(null=True)
    # The 30-second step of the last code accepted: a code is good once, and never an older one.
    totp_last_step = fields.BigIntField(null=True)
    # Set when the person deleted their account: the phone and second factor are erased then.
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "person"


class Organisation(Model):
    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    kind = fields.CharEnumField(OrganisationKind, max_length=20)
    name = fields.CharField(max_length=200)
    status = fields.CharEnumField(
        OrganisationStatus, max_length=12, default=OrganisationStatus.ACTIVE
    )
    suspended_reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "organisation"
        indexes = (("kind", "created_at"),)


class Membership(Model):
    """A person's role in an organisation or household: invited, then accepted."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "tanpuhui.Organisation", related_name="memberships", on_delete=fields.RESTRICT
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "tanpuhui.Person", related_name="memberships", on_delete=fields.RESTRICT
    )
    role = fields.CharField(max_length=20)
    status = fields.CharEnumField(MembershipStatus, max_length=12)
    created_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "membership"
        unique_together = (("organisation", "person"),)


class Session(Model):
    """A login on one device: a family of rotating refresh tokens (its public id is the `sid`)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "tanpuhui.Person", related_name="sessions", on_delete=fields.RESTRICT
    )
    # The organisation the session acts for, if any (a member's scope).
    membership: fields.ForeignKeyNullableRelation[Membership] = fields.ForeignKeyField(
        "tanpuhui.Membership", null=True, related_name="sessions", on_delete=fields.RESTRICT
    )
    second_factor = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=40, null=True)

    class Meta:
        table = "session"


class RefreshToken(Model):
    """Opaque, only its sha256 is stored. Rotated on use: a reused one revokes its session."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[Session] = fields.ForeignKeyField(
        "tanpuhui.Session", related_name="refresh_tokens", on_delete=fields.RESTRICT
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    issued_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"


class PlatformCredential(Model):
    """A data platform's OAuth2 client: the secret is shown once and stored as sha256."""

    id = fields.BigIntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "tanpuhui.Organisation", related_name="credentials", on_delete=fields.RESTRICT
    )
    client_id = fields.CharField(max_length=40, unique=True)
    secret_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "platform_credential"
