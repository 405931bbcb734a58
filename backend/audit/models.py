"""The audit log (监督): every state change, who made it, when, and on what object."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    """Append-only: PostgreSQL refuses UPDATE and DELETE on this table (migration 0001)."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    occurred_at = fields.DatetimeField()
    actor_kind = fields.CharField(max_length=20)
    actor_id = fields.CharField(max_length=64, null=True)
    organisation_id = fields.CharField(max_length=64, null=True)
    action = fields.CharField(max_length=80)
    object_type = fields.CharField(max_length=40)
    object_id = fields.CharField(max_length=64)
    details: Any = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_event"
        indexes = (("object_type", "object_id", "occurred_at"), ("occurred_at", "public_id"))
