"""Data authorisation (数据授权) and delegation (委托): notices, grants, their events, subject links."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.accounts.subjects import SubjectKind


class DataCategory(StrEnum):
    """What a platform may use. Each scenario of behaviour needs one category."""

    PUBLIC_TRANSPORT = "PUBLIC_TRANSPORT"  # metro and bus trips
    CYCLING = "CYCLING"
    WALKING = "WALKING"
    NEV_DRIVING = "NEV_DRIVING"  # new-energy vehicle kilometres
    ELECTRICITY_METER = "ELECTRICITY_METER"  # household and business meter readings
    PAPERLESS_BILLING = "PAPERLESS_BILLING"


class GrantKind(StrEnum):
    DATA = "DATA"  # 数据授权
    DELEGATION = (
        "DELEGATION"  # 委托: the platform may bundle the subject's reductions into a project
    )


class GrantStatus(StrEnum):
    AUTHORISED = "AUTHORISED"
    WITHDRAWN = "WITHDRAWN"  # by the subject
    REVOKED = "REVOKED"  # by the operator or the platform
    EXPIRED = "EXPIRED"


class ConsentNotice(Model):
    """A published consent text: versioned per purpose, never changed (append-only, hashed)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    purpose = fields.CharField(max_length=40)
    version = fields.IntField()
    kind = fields.CharEnumField(GrantKind, max_length=12)
    categories: Any = fields.JSONField()
    text_zh = fields.TextField()
    text_en = fields.TextField()
    sha256 = fields.CharField(max_length=64)
    published_at = fields.DatetimeField()

    class Meta:
        table = "consent_notice"
        unique_together = (("purpose", "version"),)


class DataGrant(Model):
    """One consent of a subject to one platform: its status changes only to a terminal one."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    subject_kind = fields.CharEnumField(SubjectKind, max_length=12)
    # The owner: the public id of the person, household or business.
    subject_id = fields.UUIDField()
    platform_id = fields.BigIntField()
    kind = fields.CharEnumField(GrantKind, max_length=12)
    purpose = fields.CharField(max_length=40)
    categories: Any = fields.JSONField()
    meter_accounts: Any = fields.JSONField(default=list)
    notice: fields.ForeignKeyRelation[ConsentNotice] = fields.ForeignKeyField(
        "tanpuhui.ConsentNotice", related_name="grants", on_delete=fields.RESTRICT
    )
    notice_sha256 = fields.CharField(max_length=64)
    separate_consent = fields.BooleanField()
    status = fields.CharEnumField(GrantStatus, max_length=12)
    authorised_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    end_reason = fields.CharField(max_length=500, null=True)
    collection_method = fields.CharField(max_length=40)
    granted_by = fields.UUIDField()  # the person who consented (for a household or business too)

    class Meta:
        table = "data_grant"
        indexes = (
            ("subject_id", "platform_id", "status"),
            ("status", "expires_at"),
            ("platform_id", "status"),
        )


class GrantEvent(Model):
    """Every change of a grant, append-only (PostgreSQL refuses UPDATE and DELETE)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    grant: fields.ForeignKeyRelation[DataGrant] = fields.ForeignKeyField(
        "tanpuhui.DataGrant", related_name="events", on_delete=fields.RESTRICT
    )
    subject_id = fields.UUIDField()
    event = fields.CharField(max_length=20)
    occurred_at = fields.DatetimeField()
    actor = fields.CharField(max_length=80)
    reason = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "grant_event"


class SubjectLink(Model):
    """The pseudonymous id (subject reference) a platform knows a subject by, one per pair."""

    id = fields.BigIntField(primary_key=True)
    subject_kind = fields.CharEnumField(SubjectKind, max_length=12)
    subject_id = fields.UUIDField()
    platform_id = fields.BigIntField()
    subject_ref = fields.UUIDField()
    linked_at = fields.DatetimeField()

    class Meta:
        table = "subject_link"
        unique_together = (("platform_id", "subject_id"), ("platform_id", "subject_ref"))


class LinkCode(Model):
    """A one-time code our app shows, which the subject enters at the platform (hashed, 10 minutes)."""

    id = fields.BigIntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    subject_kind = fields.CharEnumField(SubjectKind, max_length=12)
    subject_id = fields.UUIDField()
    platform_id = fields.BigIntField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "link_code"


class LinkRequest(Model):
    """A platform asks to link a number it knows, and the subject approves or declines in our app."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    platform_id = fields.BigIntField()
    phone = fields.CharField(max_length=20)
    status = fields.CharField(max_length=12)  # PENDING, APPROVED, DECLINED, EXPIRED
    subject_ref = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "link_request"
        indexes = (("phone", "status"),)


class Notification(Model):
    """Something the app lists for a person (a grant about to expire). Push can come later."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    person_id = fields.UUIDField()
    kind = fields.CharField(max_length=40)
    grant: fields.ForeignKeyNullableRelation[DataGrant] = fields.ForeignKeyField(
        "tanpuhui.DataGrant", null=True, related_name="notifications", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        unique_together = (("person_id", "grant", "kind"),)
