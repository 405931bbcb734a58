"""Appeals (申诉): a citizen contests a rejected record or a clawback; the authority answers."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class AppealKind(StrEnum):
    REJECTION = "REJECTION"  # a record the scheme refused (the platform's event id)
    CLAWBACK = "CLAWBACK"  # points taken back (the clawback's transaction id)


class AppealStatus(StrEnum):
    OPEN = "OPEN"
    UPHELD = "UPHELD"  # the citizen was right; the answer says what is done
    DISMISSED = "DISMISSED"


class Appeal(Model):
    """An appeal and, once answered, the authority's answer (answered once)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    person_id = fields.UUIDField(db_index=True)
    kind = fields.CharEnumField(AppealKind, max_length=12)
    reference = fields.CharField(max_length=200)
    text = fields.CharField(max_length=2000)
    status = fields.CharEnumField(AppealStatus, max_length=10)
    answer = fields.CharField(max_length=2000, null=True)
    answered_by = fields.CharField(max_length=80, null=True)
    filed_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "appeal"
        indexes = (("status", "filed_at"),)
